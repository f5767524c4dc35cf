/**
 * Test helper: starts a real OpenTrail server on a random port with a fresh data directory, and
 * gives SDK clients signed with the bootstrap administrator's key.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail'
import { loadConfig } from '../../src/config/load.js'
import { startServer, type RunningServer } from '../../src/main.js'
import { createLogger } from '../../src/telemetry/logger.js'

export interface TestServer {
  server: RunningServer
  url: string
  dataDir: string
  accessKeyId: string
  secretAccessKey: string
  credentialsFile: string
  client(opts?: {
    region?: string
    accessKeyId?: string
    secretAccessKey?: string
  }): CloudTrailClient
  close(): Promise<void>
}

export async function readAdminKey(
  dataDir: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const text = await readFile(join(dataDir, 'credentials'), 'utf8')
  return {
    accessKeyId: /aws_access_key_id = (\S+)/.exec(text)![1]!,
    secretAccessKey: /aws_secret_access_key = (\S+)/.exec(text)![1]!,
  }
}

export async function startTestServer(extra: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'opentrail-test-'))
  const config = { ...(await loadConfig({ port: 0, dataDir }, {})), ...extra }
  const server = await startServer(config, {
    logger: createLogger(process.env['OPENTRAIL_TEST_LOG'] ?? 'silent'),
  })
  const key = await readAdminKey(dataDir)
  return {
    server,
    url: server.url,
    dataDir,
    ...key,
    credentialsFile: join(dataDir, 'credentials'),
    client(opts = {}) {
      return new CloudTrailClient({
        endpoint: server.url,
        region: opts.region ?? 'us-east-1',
        credentials: {
          accessKeyId: opts.accessKeyId ?? key.accessKeyId,
          secretAccessKey: opts.secretAccessKey ?? key.secretAccessKey,
        },
        maxAttempts: 1,
      })
    },
    async close() {
      await server.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
