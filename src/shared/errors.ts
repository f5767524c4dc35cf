/**
 * @module shared/errors
 * The one error type that crosses layers. Domains throw subclasses named exactly like the AWS
 * exception; `protocol/json-protocol.ts` serialises them. Anything else becomes InternalFailure.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
    this.name = code
  }
}

/** Builds a ServiceError subclass factory for one AWS exception name. */
export function awsError(code: string, status = 400) {
  return (message: string) => new ServiceError(code, message, status)
}

export const ValidationException = awsError('ValidationException')
export const SerializationException = awsError('SerializationException')
export const AccessDeniedException = awsError('AccessDeniedException')
export const ThrottlingException = awsError('ThrottlingException')
export const UnknownOperationException = awsError('UnknownOperationException')
export const InvalidNextTokenException = awsError('InvalidNextTokenException')
