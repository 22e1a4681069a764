import type { SignatureScheme } from '../protocol/protocol.constants.js';

/** The authenticated calling service, as given by `@ServiceCaller()`. */
export interface ServiceCallerInfo {
  apiKey: string;
  serviceName: string;
  /** The scheme the request was signed with: `'v1'`, `'rfc9421'` or `'v0'`. */
  scheme: SignatureScheme;
}
