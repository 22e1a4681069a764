import { V1_ALGORITHM_LINE } from './protocol.constants.js';

/** The parts of a request that scheme v1 signs. */
export interface V1SignedParts {
  apiKey: string;
  timestamp: string;
  nonce: string;
  /** Request method; upper-cased here. */
  method: string;
  /** `Host` header value (HTTP/2: `:authority`); lower-cased here. */
  host: string;
  /** Request target exactly as on the request line: path, then `?query`. */
  target: string;
  /** Lowercase hex SHA-256 of the body bytes as sent. */
  bodySha256: string;
}

export function v0StringToSign(apiKey: string, timestamp: string): string {
  return apiKey + timestamp;
}

export function v1StringToSign(parts: V1SignedParts): string {
  return (
    V1_ALGORITHM_LINE + '\n' +
    parts.apiKey + '\n' +
    parts.timestamp + '\n' +
    parts.nonce + '\n' +
    parts.method.toUpperCase() + '\n' +
    parts.host.toLowerCase() + '\n' +
    parts.target + '\n' +
    parts.bodySha256
  );
}
