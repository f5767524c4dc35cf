/**
 * @module config/schema
 * The config file (YAML or JSON): one schema gives validation with clear errors and the documented
 * defaults. Command-line flags override environment variables, which override the file.
 */
import { z } from 'zod'

const policy = z.union([
  z.string(),
  z
    .object({ Version: z.string().optional(), Statement: z.union([z.array(z.any()), z.any()]) })
    .passthrough(),
])

const accessKey = z
  .object({
    accessKeyId: z
      .string()
      .regex(/^[A-Z0-9]{16,128}$/, 'access key IDs are 16-128 upper-case letters or digits'),
    secretAccessKey: z.string().min(16, 'secret access keys are at least 16 characters'),
  })
  .strict()

export const configSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(7310),
    host: z.string().default('127.0.0.1'),
    dataDir: z.string().default('./data'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'region must look like us-east-1')
      .default('us-east-1'),
    retentionDays: z.number().int().min(1).max(3650).default(90),
    lookupRateLimit: z.number().min(0).default(0),
    /** Bearer token for GET /metrics (Prometheus); without one, only loopback clients are served. */
    metricsToken: z.string().min(16, 'metricsToken must be at least 16 characters').optional(),
    /** Insights detector defaults (docs/insights.md); the API can change them at run time. */
    insights: z
      .object({
        score: z.number().gt(0).max(300).optional(),
        endScore: z.number().gt(0).max(300).optional(),
        minCount: z.number().int().min(1).optional(),
        warmupMinutes: z.number().int().min(0).optional(),
        snapshotSeconds: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Trail log files are written about this often (AWS: about every 5 minutes). */
    deliveryIntervalSeconds: z
      .number()
      .min(1, 'the delivery interval is at least 1 second')
      .default(300),
    /** One digest file per trail and region per interval (AWS: hourly). */
    digestIntervalSeconds: z
      .number()
      .int()
      .min(1, 'the digest interval is at least 1 second')
      .default(3600),
    /** Digest signing keys (one per region) are replaced this often. */
    signingKeyRotationSeconds: z
      .number()
      .int()
      .min(60)
      .default(30 * 86_400),
    /**
     * Trails deliver to this S3-compatible endpoint instead of the embedded store
     * (`<dataDir>/buckets`). Credentials default to the AWS SDK's chain (environment, profile).
     */
    s3: z
      .object({
        endpoint: z.string().url('s3.endpoint must be a URL such as http://127.0.0.1:9000'),
        region: z.string().optional(),
        accessKeyId: z.string().min(1).optional(),
        secretAccessKey: z.string().min(1).optional(),
        forcePathStyle: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /**
     * Notifications (topics, event rules, alarms): SMTP for email subscriptions, the retry policy
     * (exponential backoff, then dead letter), the HTTP timeout and the number of parallel sends.
     */
    notifications: z
      .object({
        smtp: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(587),
            secure: z.boolean().default(false),
            user: z.string().min(1).optional(),
            pass: z.string().optional(),
            from: z.string().min(3).default('opentrail@localhost'),
          })
          .strict()
          .optional(),
        maxAttempts: z.number().int().min(1).max(100).optional(),
        baseDelayMs: z.number().int().min(1).optional(),
        maxDelayMs: z.number().int().min(1).optional(),
        timeoutMs: z.number().int().min(100).optional(),
        concurrency: z.number().int().min(1).max(256).optional(),
      })
      .strict()
      .optional(),
    /**
     * Recording gateways: each listens on its own address in front of an AWS-compatible endpoint
     * and records the calls that pass (see src/gateway). Upstream credentials default to
     * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
     */
    gateways: z
      .array(
        z
          .object({
            listen: z
              .string()
              .regex(
                /^(\[[^\]]+\]|[^:\s[\]]*):\d{1,5}$/,
                'listen must be HOST:PORT such as 127.0.0.1:7320',
              ),
            upstream: z
              .string()
              .url('upstream must be a URL such as http://127.0.0.1:9000')
              .regex(/^https?:\/\//i, 'upstream must be an http or https URL'),
            region: z
              .string()
              .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'region must look like us-east-1')
              .optional(),
            accessKeyId: z.string().min(1).optional(),
            secretAccessKey: z.string().min(1).optional(),
            sessionToken: z.string().min(1).optional(),
            /** Hold each response's end until its event is durable (default true). */
            waitForRecord: z.boolean().optional(),
            /** Serve HTTPS: PEM files of the certificate (chain) and its key. */
            tls: z
              .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .default([]),
    accounts: z
      .array(
        z
          .object({
            accountId: z.string().regex(/^\d{12}$/, 'account IDs are 12 digits'),
            users: z
              .array(
                z
                  .object({
                    name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'invalid IAM user name'),
                    policies: z.array(policy).default([]),
                    accessKeys: z.array(accessKey).default([]),
                  })
                  .strict(),
              )
              .default([]),
            roles: z
              .array(
                z
                  .object({
                    name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'invalid IAM role name'),
                    policies: z.array(policy).default([]),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()

export type Config = z.infer<typeof configSchema>
