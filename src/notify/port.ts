/**
 * The port between monitoring (alarms) and notifications (topics, subscriptions).
 *
 * Monitoring owns alarm evaluation and calls `Notifier.alarmChanged` on every state transition. The notify
 * domain implements `Notifier` and is wired in src/main.ts; when nothing is wired, monitoring uses `noopNotifier`.
 */

/** One alarm state transition, shaped after the CloudWatch alarm notification SNS message. */
export interface AlarmNotification {
  alarmName: string
  alarmArn: string
  accountId: string
  region: string
  oldState: string
  newState: string
  reason: string
  /** ISO-8601 time of the transition. */
  timestamp: string
  /** Topic ARNs from AlarmActions / OKActions / InsufficientDataActions, chosen by `newState`. */
  actions: string[]
}

export interface Notifier {
  alarmChanged(n: AlarmNotification): Promise<void>
}

/** The notifier used when no notification domain is wired: drops every notification. */
export const noopNotifier: Notifier = {
  alarmChanged: async () => {},
}
