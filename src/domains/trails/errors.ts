/** @module domains/trails/errors  Trail-related AWS exceptions, named exactly as in the CloudTrail API. */
import { awsError } from '../../shared/errors.js'

export const TrailNotFoundException = awsError('TrailNotFoundException')
export const TrailAlreadyExistsException = awsError('TrailAlreadyExistsException')
export const InvalidTrailNameException = awsError('InvalidTrailNameException')
export const MaximumNumberOfTrailsExceededException = awsError(
  'MaximumNumberOfTrailsExceededException',
)
export const InvalidS3BucketNameException = awsError('InvalidS3BucketNameException')
export const InvalidS3PrefixException = awsError('InvalidS3PrefixException')
export const InvalidHomeRegionException = awsError('InvalidHomeRegionException')
export const InvalidParameterCombinationException = awsError('InvalidParameterCombinationException')
export const InvalidParameterException = awsError('InvalidParameterException')
export const TrailNotProvidedException = awsError('TrailNotProvidedException')
