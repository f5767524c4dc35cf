/**
 * Test helper for the trail control-plane suites (test/e2e/trails-*.test.ts): a started server,
 * clients per region, the account, AWS's ARNs and not-found message, and the CloudTrail record of
 * one call. Every trail is deleted after each test. And `snapshot`, the control plane's state as a
 * client sees it (the bad-input suites compare it before and after a failed call).
 */
import { after, afterEach, before } from 'node:test'
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  LookupEventsCommand,
  type CreateTrailCommandInput,
} from '@aws-sdk/client-cloudtrail'
import { startTestServer, type TestServer } from './server.js'

export const HOME = 'us-east-1'
export const OTHER = 'eu-west-1'

export interface TrailsReady {
  ts: TestServer
  home: CloudTrailClient
  other: CloudTrailClient
  account: string
}

/**
 * Registers the suite's hooks (call it inside a describe); `ready` gets the server, the clients
 * and the account once they are there.
 */
export function trailsContext(ready: (c: TrailsReady) => void) {
  let ts: TestServer
  let home: CloudTrailClient
  let account: string
  const clients = new Map<string, CloudTrailClient>()
  const inRegion = (region: string) => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = ts.client({ region })))
    return c
  }
  const arn = (name: string, region = HOME) =>
    `arn:aws:cloudtrail:${region}:${account}:trail/${name}`
  const notFound = (name: string, region = HOME) =>
    `Unknown trail: ${arn(name, region)} for the user: ${account}`
  const create = (input: Partial<CreateTrailCommandInput> & { Name: string }, region = HOME) =>
    inRegion(region).send(new CreateTrailCommand({ S3BucketName: 'audit-bucket', ...input }))

  /** Deletes every trail of the account, each from its home region. */
  async function deleteAll(): Promise<void> {
    let token: string | undefined
    const all: { Name?: string; HomeRegion?: string }[] = []
    do {
      const page = await home.send(new ListTrailsCommand({ NextToken: token }))
      all.push(...(page.Trails ?? []))
      token = page.NextToken
    } while (token)
    for (const t of all) {
      await inRegion(t.HomeRegion!).send(new DeleteTrailCommand({ Name: t.Name! }))
    }
  }

  /** The CloudTrail record of one call, found through LookupEvents by its request ID. */
  async function recordOf(
    client: CloudTrailClient,
    eventName: string,
    requestId: string,
  ): Promise<Record<string, unknown>> {
    await ts.server.pipeline.drain()
    let token: string | undefined
    do {
      const page = await client.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
          NextToken: token,
        }),
      )
      for (const e of page.Events ?? []) {
        const r = JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>
        if (r['requestID'] === requestId) return r
      }
      token = page.NextToken
    } while (token)
    throw new Error(`no ${eventName} record with request ID ${requestId}`)
  }

  before(async () => {
    ts = await startTestServer()
    home = inRegion(HOME)
    const other = inRegion(OTHER)
    const t = await create({ Name: 'probe' })
    account = /:(\d{12}):/.exec(t.TrailARN!)![1]!
    await home.send(new DeleteTrailCommand({ Name: 'probe' }))
    ready({ ts, home, other, account })
  })
  after(async () => {
    await ts.close()
  })
  afterEach(deleteAll)

  return { inRegion, arn, notFound, create, recordOf }
}

/** Everything a client can observe about the trail control plane's state. */
export async function snapshot(client: CloudTrailClient): Promise<unknown> {
  const trails = (await client.send(new DescribeTrailsCommand({ includeShadowTrails: true })))
    .trailList
  const details = await Promise.all(
    (trails ?? []).map(async (t) => {
      const [status, selectors, tags] = await Promise.all([
        client.send(new GetTrailStatusCommand({ Name: t.TrailARN })),
        client.send(new GetEventSelectorsCommand({ TrailName: t.TrailARN })),
        client.send(new ListTagsCommand({ ResourceIdList: [t.TrailARN!] })),
      ])
      return [
        status.IsLogging,
        selectors.EventSelectors,
        selectors.AdvancedEventSelectors,
        tags.ResourceTagList,
      ]
    }),
  )
  return [trails, details]
}
