/**
 * @module domains/posture/handlers
 * GetSecurityPosture on OpenTrail's JSON 1.1 endpoint (beyond AWS: target prefix
 * `OpenTrailPosture_20250601`, IAM action `cloudtrail:GetSecurityPosture`): the posture report of
 * the caller's account as seen from the request's region, in the shape of `opentrail check -o json`.
 */
import type { ServiceBinding } from '../../http/api.js'
import type { OperationTable } from '../../protocol/operation.js'
import { loadModel } from '../../protocol/model.js'
import { awsError } from '../../shared/errors.js'
import type { PostureService } from './service.js'
import { reportToWire } from './wire.js'

export const POSTURE_TARGET_PREFIX = 'OpenTrailPosture_20250601'
export const POSTURE_MODEL_URL = new URL('./opentrail-posture-2025-06-01.json', import.meta.url)

const InvalidParameterException = awsError('InvalidParameterException')

export function postureOperations(svc: PostureService): OperationTable {
  return {
    GetSecurityPosture: {
      readOnly: true,
      resource: (_i, ctx) => `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/*`,
      async handle(input, ctx) {
        const controls = input['Controls'] as string[] | undefined
        const tags = input['RequiredTagKeys'] as string[] | undefined
        try {
          const report = await svc.report(
            { accountId: ctx.accountId, region: ctx.region },
            {
              ...(controls?.length ? { controls } : {}),
              ...(tags?.length ? { requiredTagKeys: tags } : {}),
            },
          )
          return reportToWire(report)
        } catch (err) {
          if (err instanceof RangeError) throw InvalidParameterException(err.message)
          throw err
        }
      },
    },
  }
}

export function postureBinding(svc: PostureService): ServiceBinding {
  return {
    eventSource: 'cloudtrail.amazonaws.com',
    iamPrefix: 'cloudtrail',
    signingName: 'cloudtrail',
    targetPrefixes: [POSTURE_TARGET_PREFIX],
    model: loadModel(POSTURE_MODEL_URL),
    operations: postureOperations(svc),
  }
}
