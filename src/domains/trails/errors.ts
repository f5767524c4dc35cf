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
export const InvalidSnsTopicNameException = awsError('InvalidSnsTopicNameException')
export const InvalidKmsKeyIdException = awsError('InvalidKmsKeyIdException')
export const InvalidCloudWatchLogsLogGroupArnException = awsError(
  'InvalidCloudWatchLogsLogGroupArnException',
)
export const InvalidCloudWatchLogsRoleArnException = awsError(
  'InvalidCloudWatchLogsRoleArnException',
)
export const InvalidHomeRegionException = awsError('InvalidHomeRegionException')
export const InvalidParameterCombinationException = awsError('InvalidParameterCombinationException')
export const InvalidParameterException = awsError('InvalidParameterException')
export const TrailNotProvidedException = awsError('TrailNotProvidedException')
export const CloudTrailARNInvalidException = awsError('CloudTrailARNInvalidException')
export const ResourceNotFoundException = awsError('ResourceNotFoundException')
export const ResourceTypeNotSupportedException = awsError('ResourceTypeNotSupportedException')
export const EventDataStoreNotFoundException = awsError('EventDataStoreNotFoundException')
export const EventDataStoreARNInvalidException = awsError('EventDataStoreARNInvalidException')
export const ChannelNotFoundException = awsError('ChannelNotFoundException')
export const TagsLimitExceededException = awsError('TagsLimitExceededException')
export const InvalidTagParameterException = awsError('InvalidTagParameterException')
export const InvalidTokenException = awsError('InvalidTokenException')
export const InvalidEventSelectorsException = awsError('InvalidEventSelectorsException')
export const InvalidInsightSelectorsException = awsError('InvalidInsightSelectorsException')
export const InsightNotEnabledException = awsError('InsightNotEnabledException')
export const OrganizationsNotInUseException = awsError('OrganizationsNotInUseException')
