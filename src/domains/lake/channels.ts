/**
 * @module domains/lake/channels
 * CloudTrail Lake integrations: channels (CreateChannel, GetChannel, ListChannels, UpdateChannel,
 * DeleteChannel) persisted in a JSON file. A channel of source `Custom` (or a partner's source name)
 * delivers application audit events sent with PutAuditEvents into its destination event data stores,
 * which must collect `eventCategory` ActivityAuditLog. Ingestion status is kept per channel.
 */
import { randomUUID } from 'node:crypto'
import type { Clock } from '../../shared/clock.js'
import { awsError } from '../../shared/errors.js'
import { readJsonFile, writeJsonFileAtomic } from '../../shared/json-file.js'
import type { Tag } from '../trails/model.js'
import { validateTags } from '../trails/tags.js'
import {
  InactiveEventDataStoreException,
  InvalidParameterException,
  type EventDataStore,
  type LakeService,
  type Scope,
} from './service.js'

export const ChannelNotFoundException = awsError('ChannelNotFoundException')
export const ChannelARNInvalidException = awsError('ChannelARNInvalidException')
export const ChannelAlreadyExistsException = awsError('ChannelAlreadyExistsException')
export const ChannelMaxLimitExceededException = awsError('ChannelMaxLimitExceededException')
export const InvalidEventDataStoreCategoryException = awsError(
  'InvalidEventDataStoreCategoryException',
)
export const InvalidSourceException = awsError('InvalidSourceException')

/** Channels per account and region (AWS's quota). */
export const MAX_CHANNELS = 25

export interface ChannelDestination {
  type: 'EVENT_DATA_STORE' | 'AWS_SERVICE'
  location: string
}

export interface IngestionStatus {
  latestIngestionSuccessTime?: string
  latestIngestionSuccessEventID?: string
  latestIngestionErrorCode?: string
  latestIngestionAttemptTime?: string
  latestIngestionAttemptEventID?: string
}

export interface Channel {
  id: string
  arn: string
  accountId: string
  region: string
  name: string
  source: string
  destinations: ChannelDestination[]
  tags: Tag[]
  createdTimestamp: string
  ingestion: IngestionStatus
}

const CHANNEL_ARN =
  /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):channel\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
const CHANNEL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class ChannelService {
  private constructor(
    private readonly file: string,
    private channels: Channel[],
    private readonly lake: LakeService,
    private readonly clock: Clock,
  ) {}

  static async open(opts: { file: string; lake: LakeService; clock: Clock }) {
    const channels = (await readJsonFile<Channel[]>(opts.file)) ?? []
    return new ChannelService(opts.file, channels, opts.lake, opts.clock)
  }

  private async save(): Promise<void> {
    await writeJsonFileAtomic(this.file, this.channels, 0o600)
  }

  /** The channel an ARN or ID names in the caller's account (another account's is not found). */
  find(scope: Pick<Scope, 'accountId'>, ref: string): Channel {
    const m = CHANNEL_ARN.exec(ref)
    if (!m && !CHANNEL_ID.test(ref)) {
      throw ChannelARNInvalidException(`The specified channel ARN is not valid: ${ref}`)
    }
    const id = m ? m[3]! : ref
    const ch = this.channels.find((c) => c.id === id && c.accountId === scope.accountId)
    if (!ch || (m && (m[2] !== ch.accountId || m[1] !== ch.region))) {
      throw ChannelNotFoundException(`The specified channel ${ref} was not found.`)
    }
    return ch
  }

  list(scope: Scope): Channel[] {
    return this.channels.filter((c) => c.accountId === scope.accountId && c.region === scope.region)
  }

  private checkDestinations(scope: Scope, destinations: ChannelDestination[]): void {
    if (destinations.length < 1 || destinations.length > 200) {
      throw InvalidParameterException('A channel has 1 to 200 destinations.')
    }
    for (const d of destinations) {
      if (d.type !== 'EVENT_DATA_STORE') {
        throw InvalidParameterException(
          'Only EVENT_DATA_STORE destinations can be set on a channel you create.',
        )
      }
      const st: EventDataStore = this.lake.find(scope, d.location)
      if (st.status === 'PENDING_DELETION') {
        throw InactiveEventDataStoreException(`Event data store ${st.arn} is pending deletion.`)
      }
      if (!collectsAuditEvents(st)) {
        throw InvalidEventDataStoreCategoryException(
          `Event data store ${st.arn} does not collect ActivityAuditLog events; a channel needs a store whose selectors have eventCategory = ActivityAuditLog.`,
        )
      }
    }
  }

  async create(
    scope: Scope,
    input: { name: string; source: string; destinations: ChannelDestination[]; tags: Tag[] },
  ): Promise<Channel> {
    validateChannelName(input.name)
    if (input.source.trim() === '') throw InvalidSourceException('The channel source is not valid.')
    if (input.source === 'CloudTrail' || input.source.startsWith('aws.')) {
      throw InvalidSourceException(`Source ${input.source} is reserved for AWS service channels.`)
    }
    const mine = this.list(scope)
    if (mine.some((c) => c.name === input.name)) {
      throw ChannelAlreadyExistsException(`A channel named ${input.name} already exists.`)
    }
    if (mine.length >= MAX_CHANNELS) {
      throw ChannelMaxLimitExceededException(
        `Your account has the maximum number of channels (${MAX_CHANNELS}) in this region.`,
      )
    }
    validateTags(input.tags, { checkValues: true })
    const destinations = this.canonical(scope, input.destinations)
    const id = randomUUID()
    const ch: Channel = {
      id,
      arn: `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:channel/${id}`,
      accountId: scope.accountId,
      region: scope.region,
      name: input.name,
      source: input.source,
      destinations,
      tags: input.tags,
      createdTimestamp: this.clock.now().toISOString(),
      ingestion: {},
    }
    this.channels.push(ch)
    await this.save()
    return ch
  }

  /** Destinations with each store named by its canonical ARN, after checking them. */
  private canonical(scope: Scope, destinations: ChannelDestination[]): ChannelDestination[] {
    this.checkDestinations(scope, destinations)
    return destinations.map((d) => ({
      type: d.type,
      location: this.lake.find(scope, d.location).arn,
    }))
  }

  async update(
    scope: Scope,
    ref: string,
    input: { name?: string; destinations?: ChannelDestination[] },
  ): Promise<Channel> {
    const ch = this.find(scope, ref)
    if (input.name !== undefined && input.name !== ch.name) {
      validateChannelName(input.name)
      if (this.list(scope).some((c) => c.name === input.name)) {
        throw ChannelAlreadyExistsException(`A channel named ${input.name} already exists.`)
      }
      ch.name = input.name
    }
    if (input.destinations !== undefined)
      ch.destinations = this.canonical(scope, input.destinations)
    await this.save()
    return ch
  }

  async delete(scope: Scope, ref: string): Promise<void> {
    const ch = this.find(scope, ref)
    this.channels = this.channels.filter((c) => c !== ch)
    await this.save()
  }

  /** Store IDs that receive a channel's events now (ENABLED stores among its destinations). */
  targets(ch: Channel): EventDataStore[] {
    const out: EventDataStore[] = []
    for (const d of ch.destinations) {
      try {
        const st = this.lake.find({ accountId: ch.accountId, region: ch.region }, d.location)
        if (st.status === 'ENABLED' && collectsAuditEvents(st)) out.push(st)
      } catch {
        // a destination deleted since: nothing to write there
      }
    }
    return out
  }

  /** Records the outcome of a PutAuditEvents call (kept in memory, saved lazily). */
  noteIngestion(ch: Channel, at: Date, lastEventId: string | undefined, errorCode?: string): void {
    const t = at.toISOString()
    ch.ingestion.latestIngestionAttemptTime = t
    if (lastEventId) ch.ingestion.latestIngestionAttemptEventID = lastEventId
    if (errorCode) ch.ingestion.latestIngestionErrorCode = errorCode
    else if (lastEventId) {
      ch.ingestion.latestIngestionSuccessTime = t
      ch.ingestion.latestIngestionSuccessEventID = lastEventId
    }
  }
}

/** Whether a store's selectors collect application audit events. */
export function collectsAuditEvents(st: EventDataStore): boolean {
  return st.advancedEventSelectors.some((s) =>
    s.fieldSelectors.some(
      (f) => f.field === 'eventCategory' && (f.equals ?? []).includes('ActivityAuditLog'),
    ),
  )
}

function validateChannelName(name: string): void {
  if (!/^[a-zA-Z0-9._-]{3,128}$/.test(name)) {
    throw InvalidParameterException(
      'Channel names are 3-128 characters of letters, digits, periods, underscores and hyphens.',
    )
  }
}
