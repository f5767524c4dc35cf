/**
 * @module s3api/bucket-config-ops
 * The bucket configuration operations: policy and policy status, versioning, public access block,
 * logging, default encryption, ACL and ownership controls, notifications, and the configurations
 * this endpoint does not keep (tagging, lifecycle, CORS...), which answer "not configured".
 */
import { type BucketEncryptionConfig } from '../objectstore/port.js'
import { isPublicPolicy, parseBucketPolicy } from './bucket-policy.js'
import { accessDenied, malformedXml, noSuchBucketPolicy, S3Error } from './errors.js'
import { aclResult, bucketOf, ownerOf, readBody, readXmlBody, xml, type Op } from './op-common.js'
import { xmlBool, xmlText, type XmlObject, type XmlValue } from './xml.js'

export const bucketConfigOps: Record<string, Op> = {
  async GetBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    const policy = (await ctx.store.getBucketSettings(ctx.bucket!)).policy
    if (!policy) throw noSuchBucketPolicy(ctx.bucket!)
    return {
      headers: { 'content-type': 'application/json' },
      body: policy,
      bucketOwner: ownerOf(ctx, info),
    }
  },

  async PutBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    // Only the owning account may change a bucket's policy, whatever the policy says.
    if (ownerOf(ctx, info) !== ctx.principal.accountId) throw accessDenied()
    const text = await readBody(ctx)
    const parsed = parseBucketPolicy(text)
    const settings = await ctx.store.getBucketSettings(ctx.bucket!)
    if (settings.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(text)) throw accessDenied()
    ctx.requestParameters['bucketPolicy'] = {
      ...(JSON.parse(text) as object),
      Statement: parsed.Statement,
    }
    ctx.requestParameters['policy'] = ''
    await ctx.store.putBucketSettings(ctx.bucket!, { policy: text })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async DeleteBucketPolicy(ctx) {
    const info = await bucketOf(ctx)
    if (ownerOf(ctx, info) !== ctx.principal.accountId) throw accessDenied()
    await ctx.store.putBucketSettings(ctx.bucket!, { policy: null })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketPolicyStatus(ctx) {
    const info = await bucketOf(ctx)
    const s = await ctx.store.getBucketSettings(ctx.bucket!)
    if (!s.policy) throw noSuchBucketPolicy(ctx.bucket!)
    const isPublic = isPublicPolicy(s.policy) && !s.publicAccessBlock?.restrictPublicBuckets
    return xml('PolicyStatus', { IsPublic: isPublic }, { bucketOwner: ownerOf(ctx, info) })
  },

  async GetBucketVersioning(ctx) {
    const info = await bucketOf(ctx)
    const v = (await ctx.store.getBucketSettings(ctx.bucket!)).versioning
    return xml('VersioningConfiguration', v ? { Status: v } : {}, {
      bucketOwner: ownerOf(ctx, info),
    })
  },

  async PutBucketVersioning(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'VersioningConfiguration')
    const status = xmlText(doc['Status'])
    if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml()
    if (xmlText(doc['MfaDelete']) === 'Enabled')
      throw new S3Error('InvalidRequest', 'MFA delete is not supported by this endpoint.', 400)
    await ctx.store.putBucketSettings(ctx.bucket!, { versioning: status })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async GetPublicAccessBlock(ctx) {
    const info = await bucketOf(ctx)
    const p = (await ctx.store.getBucketSettings(ctx.bucket!)).publicAccessBlock
    if (!p)
      throw new S3Error(
        'NoSuchPublicAccessBlockConfiguration',
        'The public access block configuration was not found',
        404,
        { BucketName: ctx.bucket! },
      )
    return xml(
      'PublicAccessBlockConfiguration',
      {
        BlockPublicAcls: p.blockPublicAcls,
        IgnorePublicAcls: p.ignorePublicAcls,
        BlockPublicPolicy: p.blockPublicPolicy,
        RestrictPublicBuckets: p.restrictPublicBuckets,
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutPublicAccessBlock(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'PublicAccessBlockConfiguration')
    await ctx.store.putBucketSettings(ctx.bucket!, {
      publicAccessBlock: {
        blockPublicAcls: xmlBool(doc['BlockPublicAcls']),
        ignorePublicAcls: xmlBool(doc['IgnorePublicAcls']),
        blockPublicPolicy: xmlBool(doc['BlockPublicPolicy']),
        restrictPublicBuckets: xmlBool(doc['RestrictPublicBuckets']),
      },
    })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  DeletePublicAccessBlock: clearSetting('publicAccessBlock'),

  async GetBucketLogging(ctx) {
    const info = await bucketOf(ctx)
    const l = (await ctx.store.getBucketSettings(ctx.bucket!)).logging
    return xml(
      'BucketLoggingStatus',
      l ? { LoggingEnabled: { TargetBucket: l.targetBucket, TargetPrefix: l.targetPrefix } } : {},
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutBucketLogging(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'BucketLoggingStatus', true)
    const enabled = doc['LoggingEnabled'] as XmlObject | undefined
    if (enabled && typeof enabled === 'object') {
      const target = xmlText(enabled['TargetBucket'])
      if (!target) throw malformedXml()
      if (!(await ctx.store.bucketExists(target)))
        throw new S3Error(
          'InvalidTargetBucketForLogging',
          'The target bucket for logging does not exist',
          400,
          { TargetBucket: target },
        )
      const targetInfo = await ctx.store.bucketInfo(target)
      if (ownerOf(ctx, targetInfo) !== ownerOf(ctx, info))
        throw new S3Error(
          'InvalidTargetBucketForLogging',
          'The owner for the bucket to be logged and the target bucket must be the same.',
          400,
          { TargetBucket: target },
        )
      await ctx.store.putBucketSettings(ctx.bucket!, {
        logging: { targetBucket: target, targetPrefix: xmlText(enabled['TargetPrefix']) ?? '' },
      })
    } else {
      await ctx.store.putBucketSettings(ctx.bucket!, { logging: null })
    }
    return { bucketOwner: ownerOf(ctx, info) }
  },

  async GetBucketEncryption(ctx) {
    const info = await bucketOf(ctx)
    // Every S3 bucket has default encryption (SSE-S3) unless configured otherwise.
    const e = (await ctx.store.getBucketSettings(ctx.bucket!)).encryption ?? {
      sseAlgorithm: 'AES256',
      bucketKeyEnabled: false,
    }
    return xml(
      'ServerSideEncryptionConfiguration',
      {
        Rule: {
          ApplyServerSideEncryptionByDefault: {
            SSEAlgorithm: e.sseAlgorithm,
            ...(e.kmsMasterKeyId ? { KMSMasterKeyID: e.kmsMasterKeyId } : {}),
          },
          BucketKeyEnabled: e.bucketKeyEnabled ?? false,
        },
      },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  async PutBucketEncryption(ctx) {
    const info = await bucketOf(ctx)
    const doc = await readXmlBody(ctx, 'ServerSideEncryptionConfiguration')
    const rule = (doc['Rule'] as XmlValue[] | undefined)?.[0] as XmlObject | undefined
    const def = rule?.['ApplyServerSideEncryptionByDefault'] as XmlObject | undefined
    const alg = xmlText(def?.['SSEAlgorithm'])
    if (alg !== 'AES256' && alg !== 'aws:kms' && alg !== 'aws:kms:dsse') throw malformedXml()
    const kms = xmlText(def?.['KMSMasterKeyID'])
    if (kms && alg === 'AES256')
      throw new S3Error(
        'InvalidArgument',
        'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
        400,
      )
    const encryption: BucketEncryptionConfig = {
      sseAlgorithm: alg,
      ...(kms ? { kmsMasterKeyId: kms } : {}),
      ...(rule?.['BucketKeyEnabled'] !== undefined
        ? { bucketKeyEnabled: xmlBool(rule['BucketKeyEnabled']) }
        : {}),
    }
    await ctx.store.putBucketSettings(ctx.bucket!, { encryption })
    return { bucketOwner: ownerOf(ctx, info) }
  },

  DeleteBucketEncryption: clearSetting('encryption'),

  async GetBucketAcl(ctx) {
    const info = await bucketOf(ctx)
    return aclResult(ownerOf(ctx, info))
  },

  async GetBucketOwnershipControls(ctx) {
    const info = await bucketOf(ctx)
    return xml(
      'OwnershipControls',
      { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } },
      { bucketOwner: ownerOf(ctx, info) },
    )
  },

  GetBucketTagging: notConfigured('NoSuchTagSet', 'The TagSet does not exist'),
  GetBucketLifecycleConfiguration: notConfigured(
    'NoSuchLifecycleConfiguration',
    'The lifecycle configuration does not exist',
  ),
  GetBucketCors: notConfigured('NoSuchCORSConfiguration', 'The CORS configuration does not exist'),
  GetBucketWebsite: notConfigured(
    'NoSuchWebsiteConfiguration',
    'The specified bucket does not have a website configuration',
  ),
  GetBucketReplication: notConfigured(
    'ReplicationConfigurationNotFoundError',
    'The replication configuration was not found',
  ),
  GetObjectLockConfiguration: notConfigured(
    'ObjectLockConfigurationNotFoundError',
    'Object Lock configuration does not exist for this bucket',
  ),

  async GetBucketNotificationConfiguration(ctx) {
    const info = await bucketOf(ctx)
    return xml('NotificationConfiguration', {}, { bucketOwner: ownerOf(ctx, info) })
  },
}

function notConfigured(code: string, message: string): Op {
  return async (ctx) => {
    await bucketOf(ctx)
    throw new S3Error(code, message, 404, { BucketName: ctx.bucket! })
  }
}

/** A Delete<Configuration> operation: drops one bucket setting. */
function clearSetting(name: 'publicAccessBlock' | 'encryption'): Op {
  return async (ctx) => {
    const info = await bucketOf(ctx)
    await ctx.store.putBucketSettings(ctx.bucket!, { [name]: null })
    return { status: 204, bucketOwner: ownerOf(ctx, info) }
  }
}
