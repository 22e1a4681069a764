import type { ResolvedApiKeyAuthOptions } from '../api-key-auth-options.factory.js';
import { ServiceAuthException } from './service-auth.exception.js';
import { HEADER_SIGNATURE } from '../protocol/protocol.constants.js';
import { headerLookup } from '../protocol/rfc9421/rfc9421-request.js';
import { parseRfc9421Credentials, type Rfc9421Credentials } from '../protocol/rfc9421/rfc9421-credentials.js';
import { bodyPresence, rawHeadersOf, readSignedParts, refuseContentEncoding, type IncomingRequest } from './request.reader.js';

/**
 * PROTOCOL.md step 1 for scheme rfc9421, in the order of v1's: the scheme
 * accepted, the Host read as sent (missing or repeated: malformed), the
 * profile's rules (`parseRfc9421Credentials`), a `Content-Encoding` refused,
 * then the signed host against `allowedHosts`. No cryptographic work is done
 * here: the signature base is only built.
 */
export function readRfc9421Credentials(
  request: IncomingRequest,
  options: Pick<ResolvedApiKeyAuthOptions, 'schemes' | 'allowedHosts'>,
): Rfc9421Credentials {
  if (request.headers[HEADER_SIGNATURE] !== undefined) {
    throw new ServiceAuthException('malformed_credentials', 'A request may carry Signature-Input or X-API-Signature, not both.');
  }
  // Refused before any structured-field parsing: a service that does not list rfc9421 never parses its headers.
  if (!options.schemes.has('rfc9421')) {
    throw new ServiceAuthException(
      'malformed_credentials',
      `Signature scheme rfc9421 is not accepted by this service; sign with ${[...options.schemes].join(' or ')}.`,
    );
  }
  const parts = readSignedParts(request, 'rfc9421');
  const parsed = parseRfc9421Credentials({
    method: request.method,
    host: parts.host,
    target: parts.target,
    header: headerLookup(request.headers),
    rawHeaders: rawHeadersOf(request),
    body: bodyPresence(request),
  });
  if (!parsed.ok) throw new ServiceAuthException(parsed.code, parsed.message);
  refuseContentEncoding(request.headers);
  // `@authority` is the Host as sent, lower-cased, without a default port: every entry that allows
  // the authority also allows that Host, and an entry with an explicit default port
  // (`api.internal:443`) matches the Host as it does for v1.
  if (options.allowedHosts && !options.allowedHosts.allows(parts.host)) throw new ServiceAuthException('host_not_allowed');
  return parsed.credentials;
}
