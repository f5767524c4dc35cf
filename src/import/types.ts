/**
 * @module import/types
 * The import job's domain shapes (camelCase; the API handlers map them to wire names). They follow
 * CloudTrail Lake's imports (statuses, statistics, failures) so a Lake StartImport can be served by
 * the same service.
 */

export type ImportStatus = 'INITIALIZING' | 'IN_PROGRESS' | 'FAILED' | 'STOPPED' | 'COMPLETED'

/**
 * What to do with events older than the destination's retention (Event History: `retentionDays`).
 * `refuse`: stop the import with an explanation before such events are written (the default);
 * `import`: import them anyway (trails and other sinks receive them; Event History drops them at
 * its next hourly retention sweep); `skip`: leave them out and count them.
 */
export type OlderThanRetention = 'refuse' | 'import' | 'skip'

export interface ImportRequest {
  /** A local file or directory (as the server sees it), or s3://bucket/prefix. */
  source: string
  startTime?: Date
  endTime?: Date
  /** Only events of these accounts (recipientAccountId, else userIdentity.accountId). */
  accounts?: string[]
  /** Only events whose awsRegion is one of these. */
  regions?: string[]
  validateDigests?: boolean
  olderThanRetention?: OlderThanRetention
  s3EndpointUrl?: string
  s3Region?: string
  /** Files read at once (default 4). */
  concurrency?: number
}

export interface ImportStatistics {
  filesFound: number
  filesCompleted: number
  filesFailed: number
  /** Files not read: outside the time window by their name, or digest files. */
  filesSkipped: number
  bytesFound: number
  bytesCompleted: number
  eventsImported: number
  duplicatesSkipped: number
  /** Events outside --start-time/--end-time, --account or --region. */
  eventsFiltered: number
  recordsRejected: number
  /** Events older than the destination's retention (imported or skipped per the request). */
  eventsOlderThanRetention: number
  rejectedByReason: Record<string, number>
}

export interface ImportInfo {
  importId: string
  source: string
  request: StoredRequest
  status: ImportStatus
  createdAt: string
  updatedAt: string
  /** The account of the caller who started it (undefined when started in-process). */
  ownerAccountId?: string
  listingComplete: boolean
  errorMessage?: string
  /** The destination's retention in days when the import started (undefined: no retention). */
  retentionDays?: number
  statistics: ImportStatistics
}

/** The request as stored in job.json (times as ISO strings). */
export interface StoredRequest {
  source: string
  startTime?: string
  endTime?: string
  accounts?: string[]
  regions?: string[]
  validateDigests?: boolean
  olderThanRetention: OlderThanRetention
  s3EndpointUrl?: string
  s3Region?: string
  concurrency: number
}

export interface ImportFailure {
  /** The file (path relative to the source, or S3 key), with `#index` for a record. */
  location: string
  kind: 'file' | 'record'
  errorType: string
  errorMessage: string
  time: string
  eventID?: string
}

export function emptyStatistics(): ImportStatistics {
  return {
    filesFound: 0,
    filesCompleted: 0,
    filesFailed: 0,
    filesSkipped: 0,
    bytesFound: 0,
    bytesCompleted: 0,
    eventsImported: 0,
    duplicatesSkipped: 0,
    eventsFiltered: 0,
    recordsRejected: 0,
    eventsOlderThanRetention: 0,
    rejectedByReason: {},
  }
}
