import { isInnerList, parseDictionary, type Dictionary, type Parameters } from 'structured-headers';
import { API_KEY_PATTERN, NONCE_PATTERN } from '../credentials.js';
import { componentNameProblem, describeComponent } from './components.js';
import { RFC9421_ALGORITHM, RFC9421_MAX_COMPONENTS, RFC9421_MAX_FIELD_BYTES } from './rfc9421.constants.js';
import { serializeSignatureParams } from './signature-base.js';

/** The one signature of `Signature-Input` that this profile verifies, with its parameters checked. */
export interface SelectedSignatureInput {
  /** The dictionary key of the signature; `Signature` must carry the same one. */
  label: string;
  /** The covered component names, in their order. */
  components: readonly string[];
  /** `keyid`. */
  apiKey: string;
  /** `created`, Unix seconds. */
  createdSeconds: number;
  /** `expires`, Unix seconds, when present. */
  expiresSeconds: number | undefined;
  nonce: string;
  /** `alg`, when present (always `hmac-sha256`). */
  alg: typeof RFC9421_ALGORITHM | undefined;
  /** The `@signature-params` value: the label's inner list re-serialized (RFC 9421 section 2.3). */
  signatureParams: string;
}

export type SignatureInputParseResult = { ok: true; input: SelectedSignatureInput } | { ok: false; message: string };

/** Unix seconds as X-API-Timestamp allows them: 0 to 12 digits' worth. */
const MAX_SECONDS = 999_999_999_999;

function fail(message: string): SignatureInputParseResult {
  return { ok: false, message };
}

/** Whether the field exceeds its byte bound (Node's header strings hold one byte per character). */
export function exceedsFieldBound(value: string): boolean {
  return value.length > RFC9421_MAX_FIELD_BYTES;
}

function seconds(value: unknown): number | undefined {
  // The parser returns `1.0` as the number 1, so an integral decimal passes here; it is
  // re-serialized as the integer and so verifies only against what a canonical signer signed.
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SECONDS ? value : undefined;
}

/** The labels whose parameters carry a `keyid`: the signatures meant for this verifier. */
function labelsWithKeyId(dictionary: Dictionary): string[] {
  const labels: string[] = [];
  for (const [label, member] of dictionary) if (member[1].has('keyid')) labels.push(label);
  return labels;
}

function componentsProblem(components: readonly string[]): string | undefined {
  if (components.length > RFC9421_MAX_COMPONENTS) return `Signature-Input may cover at most ${RFC9421_MAX_COMPONENTS} components.`;
  const seen = new Set<string>();
  for (const name of components) {
    const problem = componentNameProblem(name);
    if (problem !== undefined) return problem;
    if (seen.has(name)) return `Signature-Input covers ${describeComponent(name)} more than once.`;
    seen.add(name);
  }
  for (const required of ['@method', '@authority']) {
    if (!seen.has(required)) return `Signature-Input must cover "${required}".`;
  }
  if (!seen.has('@request-target') && !(seen.has('@path') && seen.has('@query'))) {
    return 'Signature-Input must cover "@request-target", or both "@path" and "@query".';
  }
  return undefined;
}

type ParametersResult =
  { ok: true; value: Omit<SelectedSignatureInput, 'label' | 'components' | 'signatureParams'> } | { ok: false; message: string };

function checkParameters(parameters: Parameters): ParametersResult {
  const keyid: unknown = parameters.get('keyid');
  if (typeof keyid !== 'string' || !API_KEY_PATTERN.test(keyid)) {
    return { ok: false, message: 'Signature-Input keyid must be a string of 16 to 128 characters of [A-Za-z0-9_-] (the API key).' };
  }
  if (!parameters.has('created')) return { ok: false, message: 'Signature-Input must have a created parameter.' };
  const created = seconds(parameters.get('created'));
  if (created === undefined) return { ok: false, message: 'Signature-Input created must be an integer: Unix time in seconds.' };
  let expires: number | undefined;
  if (parameters.has('expires')) {
    expires = seconds(parameters.get('expires'));
    if (expires === undefined) return { ok: false, message: 'Signature-Input expires must be an integer: Unix time in seconds.' };
  }
  const nonce: unknown = parameters.get('nonce');
  if (nonce === undefined) return { ok: false, message: 'Signature-Input must have a nonce parameter.' };
  if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) {
    return { ok: false, message: 'Signature-Input nonce must be a string of 16 to 128 characters of [A-Za-z0-9_-].' };
  }
  let alg: typeof RFC9421_ALGORITHM | undefined;
  if (parameters.has('alg')) {
    if (parameters.get('alg') !== RFC9421_ALGORITHM)
      return { ok: false, message: `Signature-Input alg must be "${RFC9421_ALGORITHM}" when present.` };
    alg = RFC9421_ALGORITHM;
  }
  return { ok: true, value: { apiKey: keyid, createdSeconds: created, expiresSeconds: expires, nonce, alg } };
}

/**
 * Parses `Signature-Input` (an RFC 8941 dictionary) and checks the one
 * signature that carries a `keyid` against the profile: its covered
 * components and its parameters. Labels without a `keyid` are ignored. The
 * rules that depend on the rest of the request (a body requires
 * `content-digest` and `content-type`) are checked by the caller.
 */
export function parseSignatureInput(value: string): SignatureInputParseResult {
  if (exceedsFieldBound(value)) return fail(`Signature-Input may be at most ${RFC9421_MAX_FIELD_BYTES} bytes.`);
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(value);
  } catch {
    return fail('Signature-Input is not a valid RFC 8941 dictionary.');
  }
  const labels = labelsWithKeyId(dictionary);
  if (labels.length === 0) return fail('No signature of Signature-Input has a keyid.');
  if (labels.length > 1) return fail('More than one signature of Signature-Input has a keyid: exactly one may.');
  const label = labels[0];
  const member = dictionary.get(label)!;
  if (!isInnerList(member)) return fail('The signature of Signature-Input must be an inner list of covered components.');

  const [items, parameters] = member;
  const components: string[] = [];
  for (const [name, componentParameters] of items) {
    if (typeof name !== 'string') return fail('Every covered component of Signature-Input must be a string.');
    if (componentParameters.size > 0)
      return fail(`Signature-Input covers ${describeComponent(name)} with parameters: component parameters are refused.`);
    components.push(name);
  }
  const problem = componentsProblem(components);
  if (problem !== undefined) return fail(problem);

  const checked = checkParameters(parameters);
  if (!checked.ok) return fail(checked.message);
  let signatureParams: string;
  try {
    signatureParams = serializeSignatureParams(components, parameters);
  } catch {
    return fail('A parameter of Signature-Input cannot be serialized as RFC 8941 requires.');
  }
  return { ok: true, input: { label, components, ...checked.value, signatureParams } };
}
