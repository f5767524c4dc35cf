/** @module telemetry/logger  Structured logging (pino). Secrets are redacted by path. */
import { pino } from 'pino'

export type Logger = pino.Logger

export function createLogger(
  level = process.env['OPENTRAIL_LOG_LEVEL'] ?? 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: [
      'secretAccessKey',
      '*.secretAccessKey',
      '*.*.secretAccessKey',
      'sessionToken',
      '*.sessionToken',
      '*.*.sessionToken',
      'headers.authorization',
      '*.headers.authorization',
      'password',
      '*.password',
      '*.*.password',
      // SMTP credentials (notifications.smtp.pass) and the Prometheus bearer token.
      'pass',
      '*.pass',
      '*.*.pass',
      'metricsToken',
      '*.metricsToken',
    ],
  }
  return destination ? pino(options, destination) : pino(options)
}
