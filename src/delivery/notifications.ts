/**
 * @module delivery/notifications
 * Delivery notifications as AWS CloudTrail sends them: for each delivered log file of a trail with
 * an SNS topic (`SnsTopicName`, a name in the trail's home region and account, or a topic ARN), one
 * message `{"s3Bucket": "...", "s3ObjectKey": ["..."]}` to that topic. The topic service (src/notify)
 * is reached through the structural `TopicPublisher`, connected by the composition root once it is
 * open; files delivered before that, or for topics this server does not host, notify nobody.
 */
import { snsTopicArn, type Trail } from '../domains/trails/model.js'
import { deliveryNotification, type TrailDeliveryOptions } from './trail-delivery.js'

export interface TopicPublisher {
  topic(arn: string): unknown
  publish(p: { topicArn: string; message: string; origin: string; idKey?: string }): Promise<string>
}

export interface DeliveryNotifier {
  /** For `TrailDeliveryOptions.onLogFileDelivered`. */
  hook: NonNullable<TrailDeliveryOptions['onLogFileDelivered']>
  connect(publisher: TopicPublisher): void
}

export function deliveryNotifier(): DeliveryNotifier {
  let publisher: TopicPublisher | undefined
  return {
    connect(p) {
      publisher = p
    },
    async hook(trail: Trail, bucket: string, keys: string[]) {
      const topicArn = snsTopicArn(trail)
      if (!publisher || !topicArn || !publisher.topic(topicArn)) return
      await publisher.publish({
        topicArn,
        message: JSON.stringify(deliveryNotification(bucket, keys)),
        origin: `cloudtrail:${trail.name}`,
        // The same file always gets the same delivery ids.
        idKey: `cloudtrail:${bucket}/${keys.join(',')}`,
      })
    },
  }
}
