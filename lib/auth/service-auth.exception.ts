import { HttpException, HttpStatus } from '@nestjs/common';

/** The `code` of every error response the guard sends (PROTOCOL.md). */
export type ServiceAuthErrorCode =
  | 'missing_credentials'
  | 'malformed_credentials'
  | 'stale_timestamp'
  | 'host_not_allowed'
  | 'invalid_signature'
  | 'replayed_request'
  | 'unverifiable_body'
  | 'https_required'
  | 'body_too_large'
  | 'unsupported_content_encoding'
  | 'service_not_allowed'
  | 'rate_limited'
  | 'too_many_failed_attempts'
  | 'key_store_unavailable'
  | 'nonce_store_unavailable'
  | 'rate_limit_store_unavailable';

const STATUS: Record<ServiceAuthErrorCode, HttpStatus> = {
  missing_credentials: HttpStatus.UNAUTHORIZED,
  malformed_credentials: HttpStatus.UNAUTHORIZED,
  stale_timestamp: HttpStatus.UNAUTHORIZED,
  host_not_allowed: HttpStatus.UNAUTHORIZED,
  invalid_signature: HttpStatus.UNAUTHORIZED,
  replayed_request: HttpStatus.UNAUTHORIZED,
  unverifiable_body: HttpStatus.UNAUTHORIZED,
  https_required: HttpStatus.FORBIDDEN,
  body_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_content_encoding: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  service_not_allowed: HttpStatus.FORBIDDEN,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  too_many_failed_attempts: HttpStatus.TOO_MANY_REQUESTS,
  key_store_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  nonce_store_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  rate_limit_store_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

const ERROR_NAME: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.UNAUTHORIZED]: 'Unauthorized',
  [HttpStatus.FORBIDDEN]: 'Forbidden',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'Payload Too Large',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'Unsupported Media Type',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too Many Requests',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
};

const DEFAULT_MESSAGE: Record<ServiceAuthErrorCode, string> = {
  missing_credentials: 'The request carries no API credentials.',
  malformed_credentials: 'The API credentials are malformed.',
  stale_timestamp: 'X-API-Timestamp is outside the accepted window; sync your clock with X-API-Server-Time.',
  host_not_allowed: 'The request was signed for another host than this service.',
  invalid_signature: 'The API key or the signature is not valid.',
  replayed_request: 'This nonce was already used.',
  unverifiable_body: 'The request body could not be read as raw bytes, so its signature cannot be verified.',
  https_required: 'This service accepts requests over HTTPS only.',
  body_too_large: 'The request body is larger than this service accepts.',
  unsupported_content_encoding:
    'Signed requests must be sent without Content-Encoding: the signature covers the body bytes as sent, which this service does not decode.',
  service_not_allowed: 'This service may not call this route.',
  rate_limited: 'Rate limit exceeded for this API key.',
  too_many_failed_attempts: 'Too many failed authentication attempts from this address.',
  key_store_unavailable: 'The API key store is unavailable.',
  nonce_store_unavailable: 'The replay-protection store is unavailable.',
  rate_limit_store_unavailable: 'The rate-limit store is unavailable.',
};

/**
 * An authentication failure, answered as
 * `{ statusCode, error, code, message }` with the status PROTOCOL.md assigns.
 */
export class ServiceAuthException extends HttpException {
  readonly code: ServiceAuthErrorCode;
  /** Response headers that belong to this answer (`Retry-After`, `X-API-Server-Time`, ...); the guard sets them. */
  readonly headers: Record<string, string>;

  constructor(code: ServiceAuthErrorCode, message: string = DEFAULT_MESSAGE[code], headers: Record<string, string> = {}) {
    const statusCode = STATUS[code];
    super({ statusCode, error: ERROR_NAME[statusCode], code, message }, statusCode);
    this.code = code;
    this.headers = headers;
  }
}
