/**
 * @module domains/posture/wire
 * Wire shapes around the posture check. In: what the CloudTrail API returns (DescribeTrails,
 * GetTrailStatus, GetEventSelectors, ListTags) and what the S3 API returns (GetBucketPolicy,
 * GetPublicAccessBlock, GetBucketAcl, GetBucketLogging), as plain PascalCase objects (the AWS SDK's
 * output shapes), mapped to the domain inputs. Out: the report in PascalCase, the shape of
 * `opentrail check -o json` and of the GetSecurityPosture API.
 */
import type {
  AclGrant,
  PostureAdvancedSelector,
  PostureBucket,
  PostureEventSelector,
  PostureReport,
  PostureTrail,
  PublicAccessBlock,
} from './model.js'

type Wire = Record<string, unknown>

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)
const list = (v: unknown): Wire[] => (Array.isArray(v) ? (v as Wire[]) : [])
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []

/** The selectors of a GetEventSelectors output. */
export function selectorsFromWire(out: Wire): {
  eventSelectors?: PostureEventSelector[]
  advancedEventSelectors?: PostureAdvancedSelector[]
} {
  const advanced = list(out['AdvancedEventSelectors'])
  if (advanced.length > 0) {
    return {
      advancedEventSelectors: advanced.map((s) => ({
        ...(str(s['Name']) ? { name: str(s['Name'])! } : {}),
        fieldSelectors: list(s['FieldSelectors']).map((f) => ({
          field: String(f['Field']),
          ...(f['Equals'] ? { equals: strings(f['Equals']) } : {}),
          ...(f['StartsWith'] ? { startsWith: strings(f['StartsWith']) } : {}),
          ...(f['EndsWith'] ? { endsWith: strings(f['EndsWith']) } : {}),
          ...(f['NotEquals'] ? { notEquals: strings(f['NotEquals']) } : {}),
          ...(f['NotStartsWith'] ? { notStartsWith: strings(f['NotStartsWith']) } : {}),
          ...(f['NotEndsWith'] ? { notEndsWith: strings(f['NotEndsWith']) } : {}),
        })),
      })),
    }
  }
  if (!Array.isArray(out['EventSelectors'])) return {}
  return {
    eventSelectors: list(out['EventSelectors']).map((s) => ({
      ...(str(s['ReadWriteType'])
        ? { readWriteType: s['ReadWriteType'] as PostureEventSelector['readWriteType'] }
        : {}),
      ...(typeof s['IncludeManagementEvents'] === 'boolean'
        ? { includeManagementEvents: s['IncludeManagementEvents'] }
        : {}),
      dataResources: list(s['DataResources']).map((d) => ({
        type: String(d['Type']),
        values: strings(d['Values']),
      })),
      excludeManagementEventSources: strings(s['ExcludeManagementEventSources']),
    })),
  }
}

/** A trail from its DescribeTrails entry, GetTrailStatus, GetEventSelectors and its ListTags tags. */
export function trailFromWire(
  trail: Wire,
  status: Wire,
  selectors: Wire,
  tags: Wire[],
): PostureTrail {
  const arn = String(trail['TrailARN'])
  return {
    name: String(trail['Name']),
    arn,
    homeRegion: str(trail['HomeRegion']) ?? arn.split(':')[3] ?? '',
    isMultiRegionTrail: trail['IsMultiRegionTrail'] === true,
    ...(trail['IsOrganizationTrail'] === true ? { isOrganizationTrail: true } : {}),
    s3BucketName: str(trail['S3BucketName']) ?? '',
    ...(str(trail['KmsKeyId']) ? { kmsKeyId: str(trail['KmsKeyId'])! } : {}),
    logFileValidationEnabled: trail['LogFileValidationEnabled'] === true,
    ...(str(trail['CloudWatchLogsLogGroupArn'])
      ? { cloudWatchLogsLogGroupArn: str(trail['CloudWatchLogsLogGroupArn'])! }
      : {}),
    isLogging: status['IsLogging'] === true,
    ...selectorsFromWire(selectors),
    tags: tags.map((t) => ({
      key: String(t['Key']),
      ...(typeof t['Value'] === 'string' ? { value: t['Value'] } : {}),
    })),
  }
}

/**
 * A bucket from the S3 outputs; `undefined` for a setting that is not configured (the
 * NoSuchBucketPolicy / NoSuchPublicAccessBlockConfiguration answers).
 */
export function bucketFromWire(
  name: string,
  s: { policy?: string; publicAccessBlock?: Wire; acl?: Wire; logging?: Wire },
): PostureBucket {
  const pab = s.publicAccessBlock
  const publicAccessBlock: PublicAccessBlock | undefined = pab
    ? {
        blockPublicAcls: pab['BlockPublicAcls'] === true,
        ignorePublicAcls: pab['IgnorePublicAcls'] === true,
        blockPublicPolicy: pab['BlockPublicPolicy'] === true,
        restrictPublicBuckets: pab['RestrictPublicBuckets'] === true,
      }
    : undefined
  const aclGrants: AclGrant[] = list(s.acl?.['Grants']).map((g) => {
    const grantee = (g['Grantee'] ?? {}) as Wire
    return {
      ...(str(grantee['URI']) ? { uri: str(grantee['URI'])! } : {}),
      permission: String(g['Permission']),
    }
  })
  const enabled = s.logging?.['LoggingEnabled'] as Wire | undefined
  return {
    name,
    ...(s.policy ? { policy: s.policy } : {}),
    ...(publicAccessBlock ? { publicAccessBlock } : {}),
    aclGrants,
    ...(str(enabled?.['TargetBucket'])
      ? {
          logging: {
            targetBucket: str(enabled!['TargetBucket'])!,
            targetPrefix:
              typeof enabled!['TargetPrefix'] === 'string' ? enabled!['TargetPrefix'] : '',
          },
        }
      : {}),
  }
}

export function reportToWire(r: PostureReport): Wire {
  return {
    Summary: {
      Passed: r.summary.passed,
      Failed: r.summary.failed,
      Unknown: r.summary.unknown,
      NotApplicable: r.summary.notApplicable,
    },
    Controls: r.controls.map((c) => ({
      ControlId: c.id,
      Title: c.title,
      Severity: c.severity,
      RelatedRequirements: c.cis,
      Status: c.status,
      Findings: c.findings.map((f) => ({
        Resource: f.resource,
        Status: f.status,
        Reason: f.reason,
      })),
      Remediation: c.remediation,
    })),
  }
}
