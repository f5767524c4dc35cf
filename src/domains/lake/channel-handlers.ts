/**
 * @module domains/lake/channel-handlers
 * Wire mapping of the channel operations (CloudTrail Lake integrations): CreateChannel, GetChannel,
 * ListChannels, UpdateChannel, DeleteChannel.
 */
import type { EventResource } from '../../events/record.js'
import type { Input, OperationTable, RequestContext } from '../../protocol/operation.js'
import { fromWireTags, str } from '../trails/wire.js'
import type { Channel, ChannelDestination, ChannelService } from './channels.js'
import { page, scope, toDate, type Wire } from './wire.js'

function destinationsOf(v: unknown): ChannelDestination[] | undefined {
  if (!Array.isArray(v)) return undefined
  return v.map((d: Wire) => ({
    type: str(d['Type']) as ChannelDestination['type'],
    location: str(d['Location']) ?? '',
  }))
}

const toWireDestinations = (ch: Channel): Wire[] =>
  ch.destinations.map((d) => ({ Type: d.type, Location: d.location }))

/** Channel operations (CloudTrail Lake integrations). */
export function channelOperations(service: ChannelService): OperationTable {
  const arnOf = (input: Input, ctx: RequestContext): string => {
    const ref = str(input['Channel']) ?? ''
    try {
      return service.find(scope(ctx), ref).arn
    } catch {
      return ref.startsWith('arn:')
        ? ref
        : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:channel/${ref}`
    }
  }
  const onChannel = {
    resource: arnOf,
    eventResources: (input: Input, ctx: RequestContext): EventResource[] => [
      { accountId: ctx.accountId, type: 'AWS::CloudTrail::Channel', ARN: arnOf(input, ctx) },
    ],
  }
  const ref = (input: Input) => str(input['Channel']) ?? ''
  return {
    CreateChannel: {
      readOnly: false,
      resource: (_i, ctx) => `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:channel/*`,
      async handle(input, ctx) {
        const ch = await service.create(scope(ctx), {
          name: str(input['Name'])!,
          source: str(input['Source'])!,
          destinations: destinationsOf(input['Destinations']) ?? [],
          tags: fromWireTags(input['Tags']),
        })
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          Destinations: toWireDestinations(ch),
          Tags: ch.tags.map((t) => ({
            Key: t.key,
            ...(t.value !== undefined ? { Value: t.value } : {}),
          })),
        }
      },
    },
    GetChannel: {
      readOnly: true,
      ...onChannel,
      async handle(input, ctx) {
        const ch = service.find(scope(ctx), ref(input))
        const i = ch.ingestion
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          SourceConfig: {
            ApplyToAllRegions: false,
            AdvancedEventSelectors: [
              {
                FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }],
              },
            ],
          },
          Destinations: toWireDestinations(ch),
          IngestionStatus: {
            ...(i.latestIngestionSuccessTime
              ? { LatestIngestionSuccessTime: toDate(i.latestIngestionSuccessTime) }
              : {}),
            ...(i.latestIngestionSuccessEventID
              ? { LatestIngestionSuccessEventID: i.latestIngestionSuccessEventID }
              : {}),
            ...(i.latestIngestionErrorCode
              ? { LatestIngestionErrorCode: i.latestIngestionErrorCode }
              : {}),
            ...(i.latestIngestionAttemptTime
              ? { LatestIngestionAttemptTime: toDate(i.latestIngestionAttemptTime) }
              : {}),
            ...(i.latestIngestionAttemptEventID
              ? { LatestIngestionAttemptEventID: i.latestIngestionAttemptEventID }
              : {}),
          },
        }
      },
    },
    ListChannels: {
      readOnly: true,
      resource: () => '*',
      async handle(input, ctx) {
        const p = page(service.list(scope(ctx)), 'ListChannels', [ctx.accountId, ctx.region], input)
        return {
          Channels: p.items.map((c) => ({ ChannelArn: c.arn, Name: c.name })),
          ...(p.next ? { NextToken: p.next } : {}),
        }
      },
    },
    UpdateChannel: {
      readOnly: false,
      ...onChannel,
      async handle(input, ctx) {
        const name = str(input['Name'])
        const destinations = destinationsOf(input['Destinations'])
        const ch = await service.update(scope(ctx), ref(input), {
          ...(name !== undefined ? { name } : {}),
          ...(destinations !== undefined ? { destinations } : {}),
        })
        return {
          ChannelArn: ch.arn,
          Name: ch.name,
          Source: ch.source,
          Destinations: toWireDestinations(ch),
        }
      },
    },
    DeleteChannel: {
      readOnly: false,
      ...onChannel,
      async handle(input, ctx) {
        await service.delete(scope(ctx), ref(input))
        return {}
      },
    },
  }
}
