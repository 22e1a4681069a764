import { serializeInnerList, serializeString, type InnerList, type Parameters } from 'structured-headers';

/** One line of the signature base: a covered component and its value. */
export interface ComponentLine {
  name: string;
  value: string;
}

/**
 * The `@signature-params` value: the covered components (as strings without
 * parameters) and the signature parameters in their order, serialized as an
 * RFC 8941 inner list. It is also the label's value in `Signature-Input`.
 */
export function serializeSignatureParams(components: readonly string[], parameters: Parameters): string {
  const list: InnerList = [components.map((name) => [name, new Map<string, never>()]), parameters];
  return serializeInnerList(list);
}

/**
 * The signature base of RFC 9421 section 2.5: `"<name>": <value>` per
 * covered component in order, then `"@signature-params": <params>`, joined
 * by `\n` with no final newline.
 */
export function rfc9421SignatureBase(lines: readonly ComponentLine[], signatureParams: string): string {
  let base = '';
  for (const { name, value } of lines) base += `${serializeString(name)}: ${value}\n`;
  return `${base}"@signature-params": ${signatureParams}`;
}
