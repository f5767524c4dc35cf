/**
 * AWS CLI interop: the real `aws cloudtrail ...` against a started server, pointed at it exactly as
 * the README says (AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials AWS_PROFILE=opentrail
 * --endpoint-url <url>), running the seed commands and asserting on their parsed JSON output.
 * Skips, saying so, on a machine without the AWS CLI.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { AWS_CLI_VERSION as awsVersion, awsCli, type AwsCli } from '../helpers/aws-cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

const SKIP_REASON =
  'the AWS CLI (aws) is not on PATH: install it (apt-get install awscli) to run the interop suite'

interface AwsResult {
  code: number
  stdout: string
  stderr: string
  json: Record<string, unknown>
}

interface WireTrail {
  Name: string
  S3BucketName: string
  S3KeyPrefix?: string
  IsMultiRegionTrail: boolean
  LogFileValidationEnabled: boolean
  IncludeGlobalServiceEvents: boolean
  TrailARN: string
  HomeRegion?: string
}

interface WireEvent {
  EventId: string
  EventName: string
  EventTime: number | string
  Username?: string
  Resources?: { ResourceType: string; ResourceName: string }[]
  CloudTrailEvent: string
}

if (!awsVersion) {
  describe('AWS CLI interop', () => {
    it('runs the seed commands with the AWS CLI', (t) => {
      process.stderr.write(`AWS CLI interop suite skipped: ${SKIP_REASON}\n`)
      t.skip(SKIP_REASON)
    })
  })
} else {
  describe(`AWS CLI interop (${awsVersion.split(/\s/)[0]})`, () => {
    let ts: TestServer
    let cli: AwsCli | undefined
    let suiteStart: Date
    let seedArn: string

    before(async () => {
      suiteStart = new Date(Date.now() - 1000)
      ts = await startTestServer()
      cli = await awsCli(ts, { prefix: ['cloudtrail'], tmpPrefix: 'opentrail-awscli-' })
    })
    after(async () => {
      await ts?.close()
      await cli?.close()
    })

    async function aws(...args: string[]): Promise<AwsResult> {
      const r = await cli!.aws(...args)
      let json: Record<string, unknown> = {}
      if (r.code === 0 && r.stdout.trim()) json = JSON.parse(r.stdout) as Record<string, unknown>
      return { ...r, json }
    }
    async function ok(...args: string[]): Promise<Record<string, unknown>> {
      const r = await aws(...args)
      assert.equal(r.code, 0, `aws cloudtrail ${args.join(' ')} failed: ${r.stderr}`)
      return r.json
    }
    /** The CLI's error line: "An error occurred (Code) when calling the Op operation: message". */
    function assertAwsError(r: AwsResult, code: string, op: string, message?: RegExp) {
      assert.notEqual(r.code, 0, `expected ${code}, got success: ${r.stdout}`)
      const m = /An error occurred \((\w+)\) when calling the (\w+) operation: (.*)/.exec(r.stderr)
      assert.ok(m, `no AWS error in stderr: ${r.stderr}`)
      assert.equal(m[1], code, r.stderr)
      assert.equal(m[2], op)
      if (message) assert.match(m[3]!, message)
    }
    const trailList = async () => (await ok('describe-trails'))['trailList'] as WireTrail[]

    it('create-trail --name t --s3-bucket-name b fails as AWS fails it, and changes nothing', async () => {
      const r = await aws(
        'create-trail',
        '--name',
        't',
        '--s3-bucket-name',
        'b',
        '--is-multi-region-trail',
        '--enable-log-file-validation',
        '--tags-list',
        'Key=k,Value=v',
      )
      assertAwsError(r, 'InvalidTrailNameException', 'CreateTrail', /\b3\b/)
      // With a valid name, the one-letter bucket is the problem.
      assertAwsError(
        await aws('create-trail', '--name', 'seed-trail', '--s3-bucket-name', 'b'),
        'InvalidS3BucketNameException',
        'CreateTrail',
      )
      assert.deepEqual(await trailList(), [])
    })

    it('create-trail with valid names and the same flags', async () => {
      const created = (await ok(
        'create-trail',
        '--name',
        'seed-trail',
        '--s3-bucket-name',
        'seed-bucket',
        '--is-multi-region-trail',
        '--enable-log-file-validation',
        '--tags-list',
        'Key=k,Value=v',
      )) as unknown as WireTrail
      assert.equal(created.Name, 'seed-trail')
      assert.equal(created.S3BucketName, 'seed-bucket')
      assert.equal(created.IsMultiRegionTrail, true)
      assert.equal(created.LogFileValidationEnabled, true)
      assert.equal(created.IncludeGlobalServiceEvents, true)
      assert.match(created.TrailARN, /^arn:aws:cloudtrail:us-east-1:\d{12}:trail\/seed-trail$/)
      seedArn = created.TrailARN

      assertAwsError(
        await aws('create-trail', '--name', 'seed-trail', '--s3-bucket-name', 'seed-bucket'),
        'TrailAlreadyExistsException',
        'CreateTrail',
      )
    })

    it('describe-trails', async () => {
      const list = await trailList()
      assert.equal(list.length, 1)
      assert.equal(list[0]!.Name, 'seed-trail')
      assert.equal(list[0]!.TrailARN, seedArn)
      assert.equal(list[0]!.HomeRegion, 'us-east-1')
      assert.equal(list[0]!.IsMultiRegionTrail, true)
      assert.equal(list[0]!.LogFileValidationEnabled, true)
      const byName = (await ok('describe-trails', '--trail-name-list', 'seed-trail'))[
        'trailList'
      ] as WireTrail[]
      assert.deepEqual(byName, list)
    })

    it('get-trail-status, start-logging, stop-logging', async () => {
      assert.equal((await ok('get-trail-status', '--name', 'seed-trail'))['IsLogging'], false)

      assert.deepEqual(await ok('start-logging', '--name', 'seed-trail'), {})
      const started = await ok('get-trail-status', '--name', seedArn)
      assert.equal(started['IsLogging'], true)
      assert.ok(started['StartLoggingTime'] !== undefined, JSON.stringify(started))

      assert.deepEqual(await ok('stop-logging', '--name', 'seed-trail'), {})
      const stopped = await ok('get-trail-status', '--name', 'seed-trail')
      assert.equal(stopped['IsLogging'], false)
      assert.ok(stopped['StopLoggingTime'] !== undefined, JSON.stringify(stopped))

      assertAwsError(
        await aws('get-trail-status', '--name', 'no-such-trail'),
        'TrailNotFoundException',
        'GetTrailStatus',
      )
    })

    it('update-trail', async () => {
      const updated = (await ok(
        'update-trail',
        '--name',
        'seed-trail',
        '--s3-key-prefix',
        'audit-logs',
        '--no-is-multi-region-trail',
      )) as unknown as WireTrail
      assert.equal(updated.Name, 'seed-trail')
      assert.equal(updated.S3KeyPrefix, 'audit-logs')
      assert.equal(updated.IsMultiRegionTrail, false)
      assert.equal(updated.LogFileValidationEnabled, true)
      const [described] = await trailList()
      assert.equal(described!.S3KeyPrefix, 'audit-logs')
      assert.equal(described!.IsMultiRegionTrail, false)

      assertAwsError(
        await aws('update-trail', '--name', 'no-such-trail', '--s3-key-prefix', 'x'),
        'TrailNotFoundException',
        'UpdateTrail',
      )
    })

    it('add-tags, list-tags, remove-tags', async () => {
      const tagsOf = async () => {
        const out = await ok('list-tags', '--resource-id-list', seedArn)
        const list = out['ResourceTagList'] as {
          ResourceId: string
          TagsList: { Key: string; Value?: string }[]
        }[]
        assert.equal(list.length, 1)
        assert.equal(list[0]!.ResourceId, seedArn)
        return Object.fromEntries(list[0]!.TagsList.map((t) => [t.Key, t.Value]))
      }
      assert.deepEqual(await tagsOf(), { k: 'v' })

      assert.deepEqual(
        await ok(
          'add-tags',
          '--resource-id',
          seedArn,
          '--tags-list',
          'Key=team,Value=audit',
          'Key=env,Value=test',
        ),
        {},
      )
      assert.deepEqual(await tagsOf(), { k: 'v', team: 'audit', env: 'test' })

      assert.deepEqual(
        await ok('remove-tags', '--resource-id', seedArn, '--tags-list', 'Key=env'),
        {},
      )
      assert.deepEqual(await tagsOf(), { k: 'v', team: 'audit' })
    })

    it('list-trails', async () => {
      const out = await ok('list-trails')
      assert.deepEqual(out['Trails'], [
        { TrailARN: seedArn, Name: 'seed-trail', HomeRegion: 'us-east-1' },
      ])
    })

    it('lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateTrail --max-items 5', async () => {
      await ts.server.pipeline.drain()
      const out = await ok(
        'lookup-events',
        '--lookup-attributes',
        'AttributeKey=EventName,AttributeValue=CreateTrail',
        '--max-items',
        '5',
      )
      const events = out['Events'] as WireEvent[]
      // Newest first: the duplicate, the created trail, the bad bucket, the bad name.
      assert.equal(events.length, 4)
      assert.ok(events.every((e) => e.EventName === 'CreateTrail' && e.Username === 'admin'))
      const records = events.map((e) => JSON.parse(e.CloudTrailEvent) as Record<string, unknown>)
      assert.deepEqual(
        records.map((r) => r['errorCode'] ?? null),
        [
          'TrailAlreadyExistsException',
          null,
          'InvalidS3BucketNameException',
          'InvalidTrailNameException',
        ],
      )
      const created = records[1]!
      assert.equal(created['eventSource'], 'cloudtrail.amazonaws.com')
      assert.equal(created['awsRegion'], 'us-east-1')
      assert.match(String(created['userAgent']), /^aws-cli\//)
      assert.deepEqual(created['requestParameters'], {
        name: 'seed-trail',
        s3BucketName: 'seed-bucket',
        isMultiRegionTrail: true,
        enableLogFileValidation: true,
        tagsList: [{ key: 'k', value: 'v' }],
      })
      assert.deepEqual(events[1]!.Resources, [
        { ResourceType: 'AWS::CloudTrail::Trail', ResourceName: seedArn },
      ])
      assert.equal(out['NextToken'], undefined)

      // Unfiltered, there are more than 5: the AWS CLI hands back a token wrapping the server's
      // NextToken (with --page-size 5 the page ends where --max-items does), and the next page
      // continues exactly there although this very call added an event meanwhile.
      const page = await ok('lookup-events', '--max-items', '5', '--page-size', '5')
      assert.equal((page['Events'] as WireEvent[]).length, 5)
      assert.equal(typeof page['NextToken'], 'string')
      const next = await ok(
        'lookup-events',
        '--max-items',
        '5',
        '--page-size',
        '5',
        '--starting-token',
        page['NextToken'] as string,
      )
      const ids = new Set(
        [...(page['Events'] as WireEvent[]), ...(next['Events'] as WireEvent[])].map(
          (e) => e.EventId,
        ),
      )
      assert.equal(ids.size, 10, 'the second page continues the first')
    })

    it('lookup-events --start-time ... --end-time ...', async () => {
      await ts.server.pipeline.drain()
      const end = new Date(Date.now() + 1000)
      const out = await ok(
        'lookup-events',
        '--start-time',
        suiteStart.toISOString(),
        '--end-time',
        end.toISOString(),
      )
      const names = (out['Events'] as WireEvent[]).map((e) => e.EventName)
      for (const op of [
        'CreateTrail',
        'DescribeTrails',
        'GetTrailStatus',
        'StartLogging',
        'StopLogging',
        'UpdateTrail',
        'AddTags',
        'ListTags',
        'RemoveTags',
        'ListTrails',
        'LookupEvents',
      ])
        assert.ok(names.includes(op), `${op} missing from ${names.join(',')}`)
      const times = (out['Events'] as WireEvent[]).map((e) =>
        typeof e.EventTime === 'number' ? e.EventTime * 1000 : Date.parse(e.EventTime),
      )
      assert.ok(times.every((t) => t >= suiteStart.getTime() - 1000 && t <= end.getTime()))
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      )

      const before = await ok(
        'lookup-events',
        '--start-time',
        new Date(suiteStart.getTime() - 2 * 86_400_000).toISOString(),
        '--end-time',
        new Date(suiteStart.getTime() - 86_400_000).toISOString(),
      )
      assert.deepEqual(before['Events'], [])

      assertAwsError(
        await aws(
          'lookup-events',
          '--start-time',
          end.toISOString(),
          '--end-time',
          suiteStart.toISOString(),
        ),
        'InvalidTimeRangeException',
        'LookupEvents',
      )
    })

    it('delete-trail', async () => {
      assert.deepEqual(await ok('delete-trail', '--name', 'seed-trail'), {})
      assert.deepEqual(await trailList(), [])
      assertAwsError(
        await aws('delete-trail', '--name', 'seed-trail'),
        'TrailNotFoundException',
        'DeleteTrail',
      )
      await ts.server.pipeline.drain()
      const out = await ok(
        'lookup-events',
        '--lookup-attributes',
        'AttributeKey=EventName,AttributeValue=DeleteTrail',
      )
      const records = (out['Events'] as WireEvent[]).map(
        (e) => JSON.parse(e.CloudTrailEvent) as Record<string, unknown>,
      )
      assert.deepEqual(
        records.map((r) => r['errorCode'] ?? null),
        ['TrailNotFoundException', null],
      )
    })
  })
}
