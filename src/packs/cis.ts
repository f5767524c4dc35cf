/**
 * @module packs/cis
 * The CIS AWS Foundations Benchmark monitoring controls 4.1–4.15 (v1.4–5.0 numbering; 5.1–5.15 in
 * v6/v7): each a CloudWatch Logs metric filter with the exact filter pattern printed in the CIS
 * remediation text (CIS v4.0), a metric in namespace `CISBenchmark`, and an alarm on it (Sum over
 * 5 minutes >= 1, missing data not breaching) whose actions notify a topic.
 */

export interface CisControl {
  id: string
  title: string
  /** Metric filter, metric and alarm name. */
  name: string
  filterPattern: string
}

export const CIS_NAMESPACE = 'CISBenchmark'
export const CIS_PERIOD_SECONDS = 300

const ev = (names: string[]) => names.map((n) => `($.eventName = ${n})`).join(' || ')

export const CIS_CONTROLS: CisControl[] = [
  {
    id: '4.1',
    title: 'Unauthorized API calls',
    name: 'CIS-4.1-UnauthorizedAPICalls',
    filterPattern:
      '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }',
  },
  {
    id: '4.2',
    title: 'Management console sign-in without MFA',
    name: 'CIS-4.2-ConsoleSigninWithoutMFA',
    filterPattern: '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
  },
  {
    id: '4.3',
    title: 'Usage of the root account',
    name: 'CIS-4.3-RootAccountUsage',
    filterPattern:
      '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
  },
  {
    id: '4.4',
    title: 'IAM policy changes',
    name: 'CIS-4.4-IAMPolicyChanges',
    filterPattern:
      '{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}',
  },
  {
    id: '4.5',
    title: 'CloudTrail configuration changes',
    name: 'CIS-4.5-CloudTrailChanges',
    filterPattern: `{ ${ev(['CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging'])} }`,
  },
  {
    id: '4.6',
    title: 'Management console authentication failures',
    name: 'CIS-4.6-ConsoleAuthenticationFailures',
    filterPattern: '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
  },
  {
    id: '4.7',
    title: 'Disabling or scheduled deletion of customer created CMKs',
    name: 'CIS-4.7-DisableOrDeleteCMK',
    filterPattern:
      '{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }',
  },
  {
    id: '4.8',
    title: 'S3 bucket policy changes',
    name: 'CIS-4.8-S3BucketPolicyChanges',
    filterPattern: `{ ($.eventSource = s3.amazonaws.com) && (${ev([
      'PutBucketAcl',
      'PutBucketPolicy',
      'PutBucketCors',
      'PutBucketLifecycle',
      'PutBucketReplication',
      'DeleteBucketPolicy',
      'DeleteBucketCors',
      'DeleteBucketLifecycle',
      'DeleteBucketReplication',
    ])}) }`,
  },
  {
    id: '4.9',
    title: 'AWS Config configuration changes',
    name: 'CIS-4.9-AWSConfigChanges',
    filterPattern:
      '{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }',
  },
  {
    id: '4.10',
    title: 'Security group changes',
    name: 'CIS-4.10-SecurityGroupChanges',
    filterPattern: `{ ${ev([
      'AuthorizeSecurityGroupIngress',
      'AuthorizeSecurityGroupEgress',
      'RevokeSecurityGroupIngress',
      'RevokeSecurityGroupEgress',
      'CreateSecurityGroup',
      'DeleteSecurityGroup',
    ])} }`,
  },
  {
    id: '4.11',
    title: 'Network access control list (NACL) changes',
    name: 'CIS-4.11-NACLChanges',
    filterPattern: `{ ${ev([
      'CreateNetworkAcl',
      'CreateNetworkAclEntry',
      'DeleteNetworkAcl',
      'DeleteNetworkAclEntry',
      'ReplaceNetworkAclEntry',
      'ReplaceNetworkAclAssociation',
    ])} }`,
  },
  {
    id: '4.12',
    title: 'Changes to network gateways',
    name: 'CIS-4.12-NetworkGatewayChanges',
    filterPattern: `{ ${ev([
      'CreateCustomerGateway',
      'DeleteCustomerGateway',
      'AttachInternetGateway',
      'CreateInternetGateway',
      'DeleteInternetGateway',
      'DetachInternetGateway',
    ])} }`,
  },
  {
    id: '4.13',
    title: 'Route table changes',
    name: 'CIS-4.13-RouteTableChanges',
    filterPattern: `{ ${ev([
      'CreateRoute',
      'CreateRouteTable',
      'ReplaceRoute',
      'ReplaceRouteTableAssociation',
      'DeleteRouteTable',
      'DeleteRoute',
      'DisassociateRouteTable',
    ])} }`,
  },
  {
    id: '4.14',
    title: 'VPC changes',
    name: 'CIS-4.14-VPCChanges',
    filterPattern: `{ ${ev([
      'CreateVpc',
      'DeleteVpc',
      'ModifyVpcAttribute',
      'AcceptVpcPeeringConnection',
      'CreateVpcPeeringConnection',
      'DeleteVpcPeeringConnection',
      'RejectVpcPeeringConnection',
      'AttachClassicLinkVpc',
      'DetachClassicLinkVpc',
      'DisableVpcClassicLink',
      'EnableVpcClassicLink',
    ])} }`,
  },
  {
    id: '4.15',
    title: 'AWS Organizations changes',
    name: 'CIS-4.15-OrganizationsChanges',
    filterPattern: `{ ($.eventSource = organizations.amazonaws.com) && (${ev([
      'AcceptHandshake',
      'AttachPolicy',
      'CreateAccount',
      'CreateOrganizationalUnit',
      'CreatePolicy',
      'DeclineHandshake',
      'DeleteOrganization',
      'DeleteOrganizationalUnit',
      'DeletePolicy',
      'DetachPolicy',
      'DisablePolicyType',
      'EnablePolicyType',
      'InviteAccountToOrganization',
      'LeaveOrganization',
      'MoveAccount',
      'RemoveAccountFromOrganization',
      'UpdatePolicy',
      'UpdateOrganizationalUnit',
    ])}) }`,
  },
]

/** The metric filter of a control (CloudWatch Logs PutMetricFilter input). */
export function cisMetricFilter(c: CisControl, logGroupName: string) {
  return {
    logGroupName,
    filterName: c.name,
    filterPattern: c.filterPattern,
    metricTransformations: [
      { metricName: c.name, metricNamespace: CIS_NAMESPACE, metricValue: '1' },
    ],
  }
}

/** The alarm of a control (CloudWatch PutMetricAlarm input). */
export function cisAlarm(c: CisControl, topicArn: string) {
  return {
    AlarmName: c.name,
    AlarmDescription: `CIS AWS Foundations ${c.id}: ${c.title}`,
    MetricName: c.name,
    Namespace: CIS_NAMESPACE,
    Statistic: 'Sum',
    Period: CIS_PERIOD_SECONDS,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    ActionsEnabled: true,
    AlarmActions: [topicArn],
  }
}
