/**
 * @module rules/handlers
 * The EventBridge API (AWS JSON 1.1, `AWSEvents.*`, signing name `events`) for rules on the default
 * bus: PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule, PutTargets,
 * RemoveTargets, ListTargetsByRule, TestEventPattern.
 */
import type { ServiceBinding } from '../http/api.js'
import { parseTopicArn, type NotifyService } from '../notify/service.js'
import { loadModel } from '../protocol/model.js'
import type { Input, OperationTable, RequestContext } from '../protocol/operation.js'
import { InvalidNextTokenException, ValidationException } from '../shared/errors.js'
import { compilePattern } from './pattern.js'
import {
  ResourceNotFoundException,
  type Rule,
  type RulesService,
  type RuleTarget,
} from './service.js'

export const EVENTS_MODEL_URL = new URL('./models/events-2015-10-07.json', import.meta.url)

export function eventsBinding(rules: RulesService, notify: NotifyService): ServiceBinding {
  const model = loadModel(EVENTS_MODEL_URL)
  return {
    eventSource: 'events.amazonaws.com',
    iamPrefix: 'events',
    signingName: 'events',
    targetPrefixes: [model.metadata.targetPrefix],
    model,
    operations: eventsOperations(rules, notify),
  }
}

function checkBus(i: Input): void {
  const bus = i['EventBusName']
  if (bus === undefined || bus === 'default') return
  if (
    typeof bus === 'string' &&
    /^arn:aws[a-z-]*:events:[^:]+:\d{12}:event-bus\/default$/.test(bus)
  )
    return
  throw ResourceNotFoundException(
    `Event bus ${typeof bus === 'string' ? bus : '?'} does not exist.`,
  )
}

function describe(r: Rule) {
  return {
    Name: r.name,
    Arn: r.arn,
    EventPattern: r.eventPattern,
    State: r.state,
    ...(r.description !== undefined ? { Description: r.description } : {}),
    ...(r.managedBy ? { ManagedBy: r.managedBy } : {}),
    EventBusName: 'default',
  }
}

function page<T>(items: T[], token: unknown, limit: unknown): { items: T[]; next?: string } {
  let start = 0
  if (token !== undefined) {
    start = Number(
      Buffer.from(typeof token === 'string' ? token : '', 'base64url').toString('utf8'),
    )
    if (!Number.isInteger(start) || start < 0 || start > items.length) {
      throw InvalidNextTokenException('The NextToken is not valid.')
    }
  }
  const n = typeof limit === 'number' ? limit : 100
  const slice = items.slice(start, start + n)
  const end = start + slice.length
  return {
    items: slice,
    ...(end < items.length ? { next: Buffer.from(String(end)).toString('base64url') } : {}),
  }
}

export function eventsOperations(rules: RulesService, notify: NotifyService): OperationTable {
  const ruleArn = (name: unknown, ctx: RequestContext) =>
    rules.arnOf(ctx.accountId, ctx.region, String(name))
  const checkTarget =
    (ctx: RequestContext) =>
    (t: RuleTarget): string | undefined => {
      const topic = parseTopicArn(t.Arn)
      if (topic) {
        if (topic.accountId !== ctx.accountId) return `Topic ${t.Arn} belongs to another account.`
        if (!notify.topic(t.Arn)) return `Topic ${t.Arn} does not exist.`
        return undefined
      }
      if (/^https?:\/\//i.test(t.Arn)) {
        try {
          new URL(t.Arn)
          return undefined
        } catch {
          return `Target URL ${t.Arn} is not valid.`
        }
      }
      return 'OpenTrail targets are SNS topic ARNs of this server or http(s) URLs.'
    }
  /** EnableRule and DisableRule. */
  const setStateOperation = (state: 'ENABLED' | 'DISABLED'): OperationTable[string] => ({
    readOnly: false,
    resource: (i, ctx) => ruleArn(i['Name'], ctx),
    async handle(i, ctx) {
      checkBus(i)
      await rules.setState(ctx.accountId, ctx.region, String(i['Name']), state)
      return {}
    },
  })
  return {
    PutRule: {
      readOnly: false,
      resource: (i, ctx) => ruleArn(i['Name'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        if (i['ScheduleExpression'] !== undefined) {
          throw ValidationException(
            'ScheduleExpression is not supported by OpenTrail; use EventPattern.',
          )
        }
        const r = await rules.putRule({
          accountId: ctx.accountId,
          region: ctx.region,
          name: String(i['Name']),
          eventPattern: i['EventPattern'] as string | undefined,
          state: i['State'] as string | undefined,
          description: i['Description'] as string | undefined,
          createdBy: ctx.accountId,
        })
        return { RuleArn: r.arn }
      },
    },
    DescribeRule: {
      readOnly: true,
      resource: (i, ctx) => ruleArn(i['Name'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        const r = rules.require(ctx.accountId, ctx.region, String(i['Name']))
        return { ...describe(r), CreatedBy: r.createdBy }
      },
    },
    ListRules: {
      readOnly: true,
      resource: () => '*',
      async handle(i, ctx) {
        checkBus(i)
        const all = rules.list(ctx.accountId, ctx.region, i['NamePrefix'] as string | undefined)
        const p = page(all, i['NextToken'], i['Limit'])
        return { Rules: p.items.map(describe), ...(p.next ? { NextToken: p.next } : {}) }
      },
    },
    DeleteRule: {
      readOnly: false,
      resource: (i, ctx) => ruleArn(i['Name'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        await rules.deleteRule(ctx.accountId, ctx.region, String(i['Name']), i['Force'] === true)
        return {}
      },
    },
    EnableRule: setStateOperation('ENABLED'),
    DisableRule: setStateOperation('DISABLED'),
    PutTargets: {
      readOnly: false,
      resource: (i, ctx) => ruleArn(i['Rule'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        const r = rules.require(ctx.accountId, ctx.region, String(i['Rule']))
        const failed = await rules.putTargets(r, i['Targets'] as RuleTarget[], checkTarget(ctx))
        return { FailedEntryCount: failed.length, FailedEntries: failed }
      },
    },
    RemoveTargets: {
      readOnly: false,
      resource: (i, ctx) => ruleArn(i['Rule'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        const r = rules.require(ctx.accountId, ctx.region, String(i['Rule']))
        const failed = await rules.removeTargets(r, i['Ids'] as string[])
        return { FailedEntryCount: failed.length, FailedEntries: failed }
      },
    },
    ListTargetsByRule: {
      readOnly: true,
      resource: (i, ctx) => ruleArn(i['Rule'], ctx),
      async handle(i, ctx) {
        checkBus(i)
        const r = rules.require(ctx.accountId, ctx.region, String(i['Rule']))
        const p = page(r.targets, i['NextToken'], i['Limit'])
        return { Targets: p.items, ...(p.next ? { NextToken: p.next } : {}) }
      },
    },
    TestEventPattern: {
      readOnly: true,
      resource: () => '*',
      async handle(i) {
        const pattern = compilePattern(String(i['EventPattern']))
        let event: unknown
        try {
          event = JSON.parse(String(i['Event']))
        } catch {
          throw ValidationException('Parameter Event is not valid.')
        }
        const e = event as Record<string, unknown> | null
        const missing = ['id', 'account', 'source', 'time', 'region', 'detail-type'].filter(
          (k) => !e || typeof e !== 'object' || e[k] === undefined,
        )
        if (missing.length > 0) {
          throw ValidationException(`Parameter Event is not valid: missing ${missing.join(', ')}.`)
        }
        return { Result: pattern.matches(event) }
      },
    },
  }
}
