/**
 * @module insights/detector-state
 * The detector's state shapes: a stream per source (its head minute and open anomalies), a key per
 * series (its counts, cached baseline profile and band, the open anomaly), and what the detector
 * reports (Start/End transitions) and takes (options).
 */
import type { Anomaly, DetectorParams, InsightsSettings, SeriesKey } from './model.js'
import type { Profile } from './profile.js'
import type { AttrCounts, Series } from './series.js'

export interface Transition {
  state: 'Start' | 'End'
  anomaly: Anomaly
}

export interface DetectorOptions {
  params?: Partial<DetectorParams>
  settings?: InsightsSettings
  newId: () => string
  /**
   * Whether a series' anomalies are emitted as Insights events: for the account's view (source
   * ''), a logging trail covering the region selects the type and category; for an event data
   * store's, that store has the type on.
   */
  enabled?: (key: SeriesKey) => boolean
  /** Closed anomalies kept for the API (newest). */
  keepClosed?: number
}

export interface Stream {
  first: number
  head: number
  open: Set<string>
}

export interface Open {
  anomaly: Anomaly
  startMinute: number
  detectMinute: number
  lastEval: number
  total: number
  lastExcess: number
  attrs: AttrCounts
}

export interface KeyState {
  key: SeriesKey
  ks: string
  stream: string
  series: Series
  profile?: Profile
  band?: { minute: number; count: number }
  open?: Open
  /** Windows up to this minute were part of an ended anomaly: late calls do not restart it. */
  doneThrough?: number
  /** The newest minute counted. */
  last: number
}
