import { useEffect, useState } from 'preact/hooks'
import { linkProps } from '../router'
import {
  describeTrails,
  logGroupName,
  trailStatus,
  type Trail,
  type TrailStatus,
} from '../trails-model'
import { errorText } from '../util'

export function TrailList() {
  const [rows, setRows] = useState<{ trail: Trail; status?: TrailStatus }[] | undefined>()
  const [error, setError] = useState('')
  useEffect(() => {
    describeTrails()
      .then(async (list) =>
        setRows(
          await Promise.all(
            list.map(async (trail) => ({
              trail,
              status: await trailStatus(trail.TrailARN).catch(() => undefined),
            })),
          ),
        ),
      )
      .catch((e: unknown) => setError(errorText(e)))
  }, [])
  return (
    <section aria-labelledby="trails-title">
      <div class="title-row">
        <h1 id="trails-title">Trails</h1>
        <a class="button primary" {...linkProps('trails/create')}>
          Create trail
        </a>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!rows ? (
        <p>Loading…</p>
      ) : rows.length === 0 ? (
        <p>No trails. A trail delivers your events to log files in a bucket.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Home region</th>
              <th scope="col">Multi-region trail</th>
              <th scope="col">Insights</th>
              <th scope="col">S3 bucket</th>
              <th scope="col">Log file prefix</th>
              <th scope="col">CloudWatch Logs log group</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ trail, status }) => (
              <tr>
                <td>
                  <a {...linkProps(`trails/${encodeURIComponent(trail.Name)}`)}>{trail.Name}</a>
                </td>
                <td>{trail.HomeRegion}</td>
                <td>{trail.IsMultiRegionTrail ? 'Yes' : 'No'}</td>
                <td>{trail.HasInsightSelectors ? 'Enabled' : 'Disabled'}</td>
                <td>{trail.S3BucketName}</td>
                <td>{trail.S3KeyPrefix || '-'}</td>
                <td>{logGroupName(trail.CloudWatchLogsLogGroupArn) || '-'}</td>
                <td>
                  {status?.IsLogging ? (
                    <span class="ok">Logging</span>
                  ) : (
                    <span class="bad">Off</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
