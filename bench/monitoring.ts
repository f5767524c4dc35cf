/**
 * @module bench/monitoring
 * Events per second through 100 CloudWatch Logs metric filters (the 15 CIS AWS Foundations
 * monitoring patterns plus 85 others of every pattern kind), as the CloudWatch Logs sink runs them:
 *   1. filters only, on record objects with their JSON text (the trail sink path: the text is
 *      stored anyway, so term patterns read it and JSON patterns read the object),
 *   2. filters only, on JSON messages (the PutLogEvents path: each message parsed once),
 *   3. the whole log-group write: filters + LMDB append of events and datapoints, durable commit.
 * Event rules (the notify engineer's part of this benchmark) are measured in their own section.
 *
 *   npx tsx bench/monitoring.ts [--events 200000] [--filters 100]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { LogsService } from '../src/domains/logs/service.js'
import { LogStore } from '../src/domains/logs/store.js'
import { compilePattern, MessageInput } from '../src/monitoring/filter-pattern/compile.js'
import { FilterSet, type MetricFilterDef } from '../src/monitoring/metric-filters.js'
import { MetricUpdates } from '../src/monitoring/metric-store.js'
import { MonitoringService } from '../src/monitoring/service.js'
import { systemClock } from '../src/shared/clock.js'
import { createLogger } from '../src/telemetry/logger.js'
import { EventGenerator } from './generator.js'
import { arg, int, table } from './util.js'

/** CIS AWS Foundations 4.1–4.15 (CIS 4.0 text, ../shared/reference/anchors-and-limits.md §3.2). */
export const CIS_PATTERNS = [
  '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }',
  '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
  '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
  '{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}',
  '{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }',
  '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
  '{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }',
  '{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }',
  '{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }',
  '{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }',
  '{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }',
  '{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }',
  '{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }',
  '{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }',
  '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName = AttachPolicy) || ($.eventName = CreateAccount) || ($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || ($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || ($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName = RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }',
]

/** 100 filters: the CIS ones, then per-event-name, wildcard, numeric, term, regex and dimension filters. */
export function benchFilters(
  n: number,
  eventNames: string[],
  sources: string[],
): MetricFilterDef[] {
  const patterns: { p: string; value?: string; dims?: Record<string, string> }[] = CIS_PATTERNS.map(
    (p) => ({ p }),
  )
  let i = 0
  while (patterns.length < n) {
    const name = eventNames[i % eventNames.length]!
    const src = sources[i % sources.length]!
    switch (i % 8) {
      case 0:
        patterns.push({ p: `{ $.eventName = "${name}" }` })
        break
      case 1:
        patterns.push({ p: `{ $.eventSource = "${src}" && $.errorCode = * }` })
        break
      case 2:
        patterns.push({
          p: `{ $.userIdentity.type = "AssumedRole" && $.eventName = ${name.slice(0, 3)}* }`,
        })
        break
      case 3:
        patterns.push({ p: `{ $.eventSource = ${src} }`, dims: { EventName: '$.eventName' } })
        break
      case 4:
        patterns.push({ p: `{ $.readOnly IS FALSE && $.awsRegion != "us-east-1" }` })
        break
      case 5:
        // Five full-text term filters (each scans the whole event), then JSON ones.
        patterns.push({
          p:
            i < 40
              ? `"${name}" -AccessDenied`
              : `{ $.eventName = "${name}" && $.errorCode NOT EXISTS }`,
        })
        break
      case 6:
        // AWS allows 5 regex filters per log group.
        patterns.push({
          p:
            i < 40
              ? `{ $.sourceIPAddress = %^10\\.% || $.userAgent = "*boto3*" }`
              : `{ $.sourceIPAddress = "10.*" || $.userAgent = "*boto3*" }`,
        })
        break
      default:
        patterns.push({ p: `{ ($.eventName = "${name}") || ($.eventName = "Describe${i}") }` })
    }
    i++
  }
  return patterns.map((x, k) => ({
    filterName: `f${k}`,
    filterPattern: x.p,
    metricTransformations: [
      {
        metricName: `M${k}`,
        metricNamespace: 'Bench',
        metricValue: x.value ?? '1',
        ...(x.dims ? { dimensions: x.dims } : {}),
      },
    ],
    creationTime: 0,
    logGroupName: 'bench',
    accountId: '123456789012',
    region: 'us-east-1',
  }))
}

/** CPU milliseconds (user + system) of this process since `from`. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from)
  return (d.user + d.system) / 1000
}

async function main(): Promise<void> {
  const events = arg('events', 'BENCH_EVENTS', 200_000)
  const nFilters = arg('filters', 'BENCH_FILTERS', 100)
  const gen = EventGenerator.load({ seed: 7 })
  const t0 = Date.now() - 3600_000
  const records = gen.batch(events, t0, t0 + 3600_000)
  const names = [...new Set(records.map((r) => r.eventName))]
  const sources = [...new Set(records.map((r) => r.eventSource))]
  const defs = benchFilters(nFilters, names, sources)
  const set = new FilterSet(defs)
  const general = defs.filter((d) => compilePattern(d.filterPattern).pins.size === 0).length

  // 1. As the trail sink runs them: the record object and its JSON text (stored anyway) given.
  const messages = records.map((r) => JSON.stringify(r))
  // The sink parses eventTime and builds these inputs anyway; only the filters are timed here.
  const BATCH = 1000
  const batches: { timestamp: number; input: { message: string; json: unknown } }[][] = []
  for (let i = 0; i < records.length; i += BATCH)
    batches.push(
      records.slice(i, i + BATCH).map((r, k) => ({
        timestamp: Date.parse(r.eventTime),
        input: { message: messages[i + k]!, json: r },
      })),
    )
  const run1 = () => {
    const u = new MetricUpdates()
    const start = performance.now()
    const cpu = process.cpuUsage()
    for (const b of batches) set.apply(b, u)
    return { ms: performance.now() - start, cpuMs: cpuMs(cpu), u }
  }
  run1() // warm-up
  const r1 = run1()
  let datapoints = 0
  for (const m of r1.u.byKey.values()) for (const s of m.minutes.values()) datapoints += s.n

  // 2. JSON messages only (PutLogEvents): each message parsed once.
  const run2 = () => {
    const u = new MetricUpdates()
    const start = performance.now()
    const cpu = process.cpuUsage()
    for (let i = 0; i < messages.length; i += 1000) {
      const slice = []
      for (let k = i; k < Math.min(i + 1000, messages.length); k++)
        slice.push({ timestamp: t0, input: new MessageInput(messages[k]!) })
      set.apply(slice, u)
    }
    return { ms: performance.now() - start, cpuMs: cpuMs(cpu) }
  }
  run2()
  const r2 = run2()

  // 3. The log-group write: filters + LMDB append (durable commit per 1,000-event batch).
  const dir = await mkdtemp(join(tmpdir(), 'opentrail-bench-monitoring-'))
  const store = LogStore.open(dir)
  const logs = new LogsService(store, systemClock)
  const monitoring = new MonitoringService({
    env: store.env,
    groups: logs,
    clock: systemClock,
    logger: createLogger('silent'),
  })
  logs.addHook(monitoring)
  const scope = { accountId: '123456789012', region: 'us-east-1' }
  logs.createLogGroup({ ...scope, name: 'bench' })
  logs.createLogStream({ ...scope, name: 'bench' }, '123456789012_CloudTrail_us-east-1')
  for (const d of defs)
    monitoring.putMetricFilter(scope, {
      logGroupName: 'bench',
      filterName: d.filterName,
      filterPattern: d.filterPattern,
      metricTransformations: d.metricTransformations,
    })
  const start3 = performance.now()
  const cpu3 = process.cpuUsage()
  for (let i = 0; i < records.length; i += 1000) {
    const batch = records.slice(i, i + 1000)
    await logs.append(
      [
        {
          group: { ...scope, name: 'bench' },
          stream: '123456789012_CloudTrail_us-east-1',
          events: batch.map((r, k) => ({
            timestamp: Date.parse(r.eventTime),
            message: messages[i + k]!,
            json: r,
          })),
        },
      ],
      { create: false },
    )
  }
  const ms3 = performance.now() - start3
  const cpu3ms = cpuMs(cpu3)
  await monitoring.stop()
  await store.close()
  await rm(dir, { recursive: true, force: true })

  table(
    `Metric filters (${defs.length} filters, ${defs.length - general} dispatched by a pinned field)`,
    [
      ['events', int(events)],
      ['datapoints published', int(datapoints)],
      ['filters, trail sink path (events/s)', int(events / (r1.ms / 1000))],
      ['  per CPU-second', int(events / (r1.cpuMs / 1000))],
      ['filters, JSON text parsed (events/s)', int(events / (r2.ms / 1000))],
      ['  per CPU-second', int(events / (r2.cpuMs / 1000))],
      ['log-group write: filters + LMDB (events/s)', int(events / (ms3 / 1000))],
      ['  per CPU-second (main thread and LMDB)', int(events / (cpu3ms / 1000))],
    ],
  )
}

// Run when executed, not when imported (other benchmarks reuse the filters above).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
