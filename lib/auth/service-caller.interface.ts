import type { SignatureScheme } from '../protocol/index.js';

/** The authenticated calling service, as given by `@ServiceCaller()`. */
export interface ServiceCallerInfo {
  apiKey: string;
  serviceName: string;
  scheme: SignatureScheme;
}
