/** @module telemetry/logger  Structured logging (pino). Secrets are redacted by path. */
import { pino } from 'pino'

export type Logger = pino.Logger

export function createLogger(level = process.env['OPENTRAIL_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    level,
    redact: [
      'secretAccessKey',
      '*.secretAccessKey',
      'headers.authorization',
      'password',
      '*.password',
    ],
  })
}
