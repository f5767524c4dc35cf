/** The alert topic of a pack: an existing topic, or the packs' default one (created on use). */
import { useEffect, useState } from 'preact/hooks'
import * as sns from '../sns'

/** The topic packs alert when none is chosen (the CLI's default, src/packs/enable.ts). */
export const DEFAULT_TOPIC = 'opentrail-security-alerts'

/** A topic select: the existing topics, or the default one (created on use). */
export function TopicPicker(props: {
  value: string
  onChange: (arn: string) => void
  label: string
}) {
  const [topics, setTopics] = useState<string[]>([])
  useEffect(() => {
    void sns.listTopics().then(setTopics)
  }, [])
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {/* '' is the default topic, whether it exists yet or not (alertTopic creates it). */}
        <option value="">
          {DEFAULT_TOPIC}
          {topics.some((t) => sns.topicName(t) === DEFAULT_TOPIC) ? '' : ' (created)'}
        </option>
        {topics
          .filter((t) => sns.topicName(t) !== DEFAULT_TOPIC)
          .map((t) => (
            <option value={t}>{sns.topicName(t)}</option>
          ))}
      </select>
    </label>
  )
}

/** The chosen topic's ARN; the default topic is created (CreateTopic is idempotent). */
export const alertTopic = async (arn: string) => arn || sns.createTopic(DEFAULT_TOPIC)
