/**
 * @module bench/generator
 * A deterministic synthetic CloudTrail event generator. It draws record shapes (templates) from the
 * 2,000 real records in ../shared/datasets/sample-2k.jsonl.gz and varies what differs between real
 * events: eventID, requestID, eventTime, the caller (a Zipf-distributed population of IAM users and
 * assumed roles per account, each with its own access keys, source IPs and user agents), the event
 * name (Zipf over the names ranked by their frequency in the sample), region and resource names.
 * Everything comes from one seeded PRNG, so a seed always yields the same stream.
 */
import { readFileSync, existsSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CloudTrailRecord, EventResource, UserIdentity } from '../src/events/record.js'

/** Where the shared datasets live: $OPENTRAIL_DATASETS, else ../shared/datasets from the repo. */
export function datasetsDir(): string {
  const env = process.env['OPENTRAIL_DATASETS']
  if (env) return env
  const here = dirname(fileURLToPath(import.meta.url))
  for (const p of [join(here, '../../shared/datasets'), '/work/shared/datasets']) {
    if (existsSync(join(p, 'sample-2k.jsonl.gz'))) return resolve(p)
  }
  throw new Error('sample-2k.jsonl.gz not found: set OPENTRAIL_DATASETS to the datasets folder')
}

/** mulberry32: small, fast, good enough for workload shapes. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
}

/** Zipf(s) over ranks 0..n-1 by inverse CDF (binary search). */
export class Zipf {
  private readonly cdf: Float64Array
  constructor(n: number, s = 1.0) {
    this.cdf = new Float64Array(n)
    let sum = 0
    for (let i = 0; i < n; i++) this.cdf[i] = sum += 1 / Math.pow(i + 1, s)
    for (let i = 0; i < n; i++) this.cdf[i]! /= sum
  }
  sample(rng: Rng): number {
    const u = rng.next()
    let lo = 0
    let hi = this.cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const HEX = '0123456789abcdef'
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1))

/** 8 hex digits from one 32-bit draw. */
function hex8(rng: Rng): string {
  const x = Math.floor(rng.next() * 4294967296)
  return (
    BYTE_HEX[x >>> 24]! +
    BYTE_HEX[(x >>> 16) & 255]! +
    BYTE_HEX[(x >>> 8) & 255]! +
    BYTE_HEX[x & 255]!
  )
}

/** A version-4-shaped UUID. */
function uuid(rng: Rng): string {
  const a = hex8(rng)
  const b = hex8(rng)
  const c = hex8(rng)
  const d = hex8(rng)
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${HEX[8 + (c.charCodeAt(0) & 3)]}${c.slice(1, 4)}-${c.slice(4)}${d}`
}

function b32(rng: Rng, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += B32[rng.int(32)]
  return s
}

function digits(rng: Rng, n: number): string {
  let s = String(1 + rng.int(9))
  while (s.length < n) s += String(rng.int(10))
  return s
}

interface Actor {
  identity: UserIdentity
  /** Long-term keys (IAM users) or a rotating pool of session keys (roles). */
  keys: string[]
  ips: string[]
  agents: string[]
}

interface Account {
  id: string
  actors: Actor[]
}

export interface GeneratorOptions {
  seed?: number
  accounts?: number
  usersPerAccount?: number
  /** Zipf exponent over event names and over users. */
  skew?: number
  /** Variants of each resource ARN (bucket-1, bucket-2, ...). */
  resourceVariants?: number
}

interface Overrides {
  userIdentity: UserIdentity
  eventTime: string
  awsRegion: string
  sourceIPAddress: string
  userAgent: string | undefined
  requestID: string
  eventID: string
  recipientAccountId: string
  resources: EventResource[] | undefined
}

type Factory = (t: CloudTrailRecord, o: Overrides) => CloudTrailRecord
const FACTORIES = new WeakMap<CloudTrailRecord, Factory>()
const OVERRIDDEN = new Set([
  'userIdentity',
  'eventTime',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'requestID',
  'eventID',
  'recipientAccountId',
  'resources',
])

/**
 * A compiled object literal per template: the template's keys in its own order with the varied
 * fields replaced. (Spreading 2,000 differently shaped objects is megamorphic and several times
 * slower.)
 */
function factoryOf(t: CloudTrailRecord): Factory {
  let f = FACTORIES.get(t)
  if (!f) {
    const keys = Object.keys(t)
    for (const k of ['requestID', 'eventID', 'recipientAccountId'])
      if (!keys.includes(k)) keys.push(k)
    if (t.userAgent === undefined)
      keys.splice(keys.indexOf('userAgent'), keys.includes('userAgent') ? 1 : 0)
    const body = keys
      .map((k) => `${JSON.stringify(k)}: ${OVERRIDDEN.has(k) ? 'o' : 't'}[${JSON.stringify(k)}]`)
      .join(',\n')
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('t', 'o', `return {${body}}`) as Factory
    FACTORIES.set(t, f)
  }
  return f
}

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2', 'eu-central-1']

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
const ROLES = ['deployer', 'ci-runner', 'lambda-exec', 'ops-admin', 'readonly', 'terraform']

export class EventGenerator {
  readonly accounts: Account[]
  private readonly rng: Rng
  private readonly byName: CloudTrailRecord[][]
  private readonly nameZipf: Zipf
  private readonly userZipf: Zipf
  private readonly accountZipf: Zipf
  private readonly regionZipf: Zipf
  private readonly variantZipf: Zipf
  private readonly variants: number
  private lastSec = -1
  private lastTime = ''

  private constructor(templates: CloudTrailRecord[], opts: GeneratorOptions) {
    this.rng = new Rng(opts.seed ?? 42)
    const skew = opts.skew ?? 1.0
    this.variants = opts.resourceVariants ?? 200
    // Event names ranked by how often they occur in the real sample (ties broken by name).
    const groups = new Map<string, CloudTrailRecord[]>()
    for (const t of templates) {
      const g = groups.get(t.eventName) ?? []
      g.push(t)
      groups.set(t.eventName, g)
    }
    this.byName = [...groups.entries()]
      .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
      .map(([, g]) => g)
    this.nameZipf = new Zipf(this.byName.length, skew)
    const agents = [...new Set(templates.map((t) => t.userAgent).filter((a): a is string => !!a))]
    const nAccounts = opts.accounts ?? 3
    const nUsers = opts.usersPerAccount ?? 300
    this.accounts = []
    for (let a = 0; a < nAccounts; a++) {
      const id = a === 0 ? '111122223333' : digits(this.rng, 12)
      const actors: Actor[] = []
      for (let u = 0; u < nUsers; u++) actors.push(this.makeActor(id, u, agents))
      this.accounts.push({ id, actors })
    }
    this.userZipf = new Zipf(nUsers, skew)
    this.accountZipf = new Zipf(nAccounts, 1.5)
    this.regionZipf = new Zipf(REGIONS.length, 2.0)
    this.variantZipf = new Zipf(this.variants, skew)
  }

  /** Loads the templates from sample-2k.jsonl.gz (every record, including odd ones, as they are). */
  static load(opts: GeneratorOptions = {}): EventGenerator {
    const text = gunzipSync(readFileSync(join(datasetsDir(), 'sample-2k.jsonl.gz'))).toString()
    const templates = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as CloudTrailRecord)
    return new EventGenerator(templates, opts)
  }

  private makeActor(accountId: string, u: number, agents: string[]): Actor {
    const rng = this.rng
    const role = rng.next() < 0.3
    const name = role
      ? `${rng.pick(ROLES)}-${u}`
      : `${rng.pick(FIRST)}.${b32(rng, 4).toLowerCase()}${u}`
    const identity: UserIdentity = role
      ? {
          type: 'AssumedRole',
          principalId: `AROA${b32(rng, 17)}:session-${u}`,
          arn: `arn:aws:sts::${accountId}:assumed-role/${name}/session-${u}`,
          accountId,
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId: `AROA${b32(rng, 17)}`,
              arn: `arn:aws:iam::${accountId}:role/${name}`,
              accountId,
              userName: name,
            },
            attributes: { creationDate: '2024-05-01T00:00:00Z', mfaAuthenticated: 'false' },
          },
        }
      : {
          type: 'IAMUser',
          principalId: `AIDA${b32(rng, 17)}`,
          arn: `arn:aws:iam::${accountId}:user/${name}`,
          accountId,
          userName: name,
        }
    const keys = role
      ? Array.from({ length: 8 }, () => `ASIA${b32(rng, 16)}`)
      : Array.from({ length: 1 + rng.int(2) }, () => `AKIA${b32(rng, 16)}`)
    const ips = Array.from(
      { length: 1 + rng.int(3) },
      () => `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`,
    )
    const ag = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(agents))
    return { identity, keys, ips, agents: ag }
  }

  /** One event at `timeMs` (CloudTrail times have second resolution). */
  next(timeMs: number): CloudTrailRecord {
    const rng = this.rng
    const group = this.byName[this.nameZipf.sample(rng)]!
    const t = rng.pick(group)
    const account = this.accounts[this.accountZipf.sample(rng)]!
    const actor = account.actors[this.userZipf.sample(rng)]!
    const tplType = t.userIdentity?.type
    const userIdentity: UserIdentity =
      tplType === 'AWSService' || tplType === undefined
        ? t.userIdentity
        : {
            ...actor.identity,
            accessKeyId: rng.pick(actor.keys),
            ...(tplType === 'IAMUser' && t.userIdentity.invokedBy
              ? { invokedBy: t.userIdentity.invokedBy }
              : {}),
          }
    const region = REGIONS[this.regionZipf.sample(rng)]!
    let resources: EventResource[] | undefined
    if (Array.isArray(t.resources)) {
      resources = t.resources.map((r) => {
        const v = this.variantZipf.sample(rng)
        return {
          ...r,
          ...(r.accountId ? { accountId: account.id } : {}),
          ...(r.ARN ? { ARN: v === 0 ? r.ARN : `${r.ARN}-${v}` } : {}),
        }
      })
    }
    const sec = Math.floor(timeMs / 1000)
    if (sec !== this.lastSec) {
      this.lastSec = sec
      this.lastTime = new Date(sec * 1000).toISOString().replace('.000Z', 'Z')
    }
    const over: Overrides = {
      userIdentity,
      eventTime: this.lastTime,
      awsRegion: region,
      sourceIPAddress: tplType === 'AWSService' ? t.sourceIPAddress : rng.pick(actor.ips),
      userAgent: tplType === 'AWSService' ? t.userAgent : rng.pick(actor.agents),
      requestID: uuid(rng),
      eventID: uuid(rng),
      recipientAccountId: account.id,
      resources,
    }
    return factoryOf(t)(t, over)
  }

  /** `n` events spread evenly over [fromMs, toMs). */
  batch(n: number, fromMs: number, toMs: number): CloudTrailRecord[] {
    const out: CloudTrailRecord[] = new Array<CloudTrailRecord>(n)
    const step = (toMs - fromMs) / n
    for (let i = 0; i < n; i++) out[i] = this.next(fromMs + i * step)
    return out
  }
}
