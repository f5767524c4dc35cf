/**
 * @module packs/client
 * The public APIs a pack is provisioned through, as any AWS client would call them: SNS (topics),
 * EventBridge (rules, targets), CloudWatch Logs (metric filters, JSON 1.1) and CloudWatch (alarms,
 * JSON 1.0), and CloudTrail (DescribeTrails, to find a trail's log group). Used by the CLI
 * (`opentrail packs ...`) and by bench/packs-replay.ts.
 */
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail'
import {
  EventBridgeClient,
  ListRulesCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge'
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns'
import { AwsCallError, awsJsonCall, type Credentials } from '../shared/aws-call.js'

export interface PackApi {
  createTopic(name: string): Promise<string>
  putRule(name: string, pattern: string, description: string): Promise<string>
  putTargets(rule: string, targets: { Id: string; Arn: string }[]): Promise<void>
  listRules(prefix: string): Promise<string[]>
  /** Creates the log group unless it exists. */
  ensureLogGroup(name: string): Promise<void>
  putMetricFilter(input: Record<string, unknown>): Promise<void>
  putMetricAlarm(input: Record<string, unknown>): Promise<void>
  trails(): Promise<{ name: string; logGroupArn?: string }[]>
}

export function packApi(o: {
  endpoint: string
  region: string
  credentials: () => Promise<Credentials>
  userAgent?: string
  clockOffsetMs?: number
  /** Called with each SDK client made (middleware, in tests and the replay). */
  onClient?: (client: SNSClient | EventBridgeClient | CloudTrailClient) => void
}): PackApi {
  const common = {
    endpoint: o.endpoint,
    region: o.region,
    credentials: o.credentials,
    maxAttempts: 2,
    ...(o.clockOffsetMs ? { systemClockOffset: o.clockOffsetMs } : {}),
    ...(o.userAgent ? { customUserAgent: o.userAgent } : {}),
  }
  const sns = new SNSClient({ ...common })
  const events = new EventBridgeClient({ ...common })
  const cloudtrail = new CloudTrailClient({ ...common })
  for (const c of [sns, events, cloudtrail]) o.onClient?.(c)
  const call = (
    service: string,
    target: string,
    version: '1.0' | '1.1',
    input: Record<string, unknown>,
  ) => awsJsonCall({ ...o, service, target, version, input })
  return {
    async createTopic(name) {
      const r = await sns.send(new CreateTopicCommand({ Name: name }))
      return r.TopicArn!
    },
    async putRule(name, pattern, description) {
      const r = await events.send(
        new PutRuleCommand({
          Name: name,
          EventPattern: pattern,
          Description: description,
          State: 'ENABLED',
        }),
      )
      return r.RuleArn!
    },
    async putTargets(rule, targets) {
      const r = await events.send(new PutTargetsCommand({ Rule: rule, Targets: targets }))
      if (r.FailedEntryCount) {
        const f = r.FailedEntries?.[0]
        throw new AwsCallError(
          f?.ErrorCode ?? 'PutTargetsFailed',
          f?.ErrorMessage ?? 'PutTargets failed',
          400,
        )
      }
    },
    async listRules(prefix) {
      const names: string[] = []
      let token: string | undefined
      do {
        const r = await events.send(new ListRulesCommand({ NamePrefix: prefix, NextToken: token }))
        for (const x of r.Rules ?? []) if (x.Name) names.push(x.Name)
        token = r.NextToken
      } while (token)
      return names
    },
    async ensureLogGroup(name) {
      try {
        await call('logs', 'Logs_20140328.CreateLogGroup', '1.1', { logGroupName: name })
      } catch (e) {
        if ((e as AwsCallError).code !== 'ResourceAlreadyExistsException') throw e
      }
    },
    async putMetricFilter(input) {
      await call('logs', 'Logs_20140328.PutMetricFilter', '1.1', input)
    },
    async putMetricAlarm(input) {
      await call('monitoring', 'GraniteServiceVersion20100801.PutMetricAlarm', '1.0', input)
    },
    async trails() {
      const r = await cloudtrail.send(new DescribeTrailsCommand({}))
      return (r.trailList ?? []).map((t) => ({
        name: t.Name ?? '',
        ...(t.CloudWatchLogsLogGroupArn ? { logGroupArn: t.CloudWatchLogsLogGroupArn } : {}),
      }))
    },
  }
}
