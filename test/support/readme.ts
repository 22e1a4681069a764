import { readFileSync } from 'node:fs';

export const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/**
 * The README section under the heading `title` (at any level), up to the next
 * heading of the same or a higher level. Throws when there is no such heading.
 */
export function readmeSection(title: string): string {
  const heading = new RegExp(`^(#{1,6}) ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(README);
  if (!heading) throw new Error(`README.md has no heading "${title}"`);
  const level = heading[1].length;
  const rest = README.slice(heading.index + heading[0].length);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(withoutFences(rest));
  return README.slice(heading.index, heading.index + heading[0].length + (next ? next.index : rest.length));
}

/** `text` with every fenced block's lines blanked (same length), so `#` comments in code are no headings. */
function withoutFences(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ' '));
}
