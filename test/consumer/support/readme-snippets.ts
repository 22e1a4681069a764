/**
 * The TypeScript blocks of a Markdown file, as files to compile.
 *
 * - Every ```ts (or ```typescript) block becomes one module.
 * - A block whose first line is a comment naming a path (`// src/app.module.ts`)
 *   is written to that path, so that blocks can import each other
 *   (`import { InvoicesController } from './invoices.controller.js'`); any other
 *   block is written to `readme/block-<line>.ts`.
 * - A block preceded by `<!-- readme-check: skip <reason> -->` (blank lines
 *   between are allowed) is left out; the reason is required.
 */
export interface Snippet {
  /** Path relative to the folder the snippets are compiled in. */
  file: string;
  /** 1-based line in the Markdown file of the block's first code line. */
  line: number;
  code: string;
}

export interface SkippedSnippet {
  line: number;
  reason: string;
}

const FENCE_OPEN = /^```(ts|typescript)\s*$/;
const SKIP_MARKER = /^<!--\s*readme-check:\s*skip\b\s*(.*?)\s*-->$/;
const FILE_COMMENT = /^\/\/\s*((?:[\w.-]+\/)*[\w.-]+\.ts)\s*$/;

export function extractSnippets(markdown: string): { snippets: Snippet[]; skipped: SkippedSnippet[] } {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  const skipped: SkippedSnippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE_OPEN.test(lines[i])) {
      if (lines[i].startsWith('```')) i = closingFence(lines, i);
      continue;
    }
    const end = closingFence(lines, i);
    const code = lines.slice(i + 1, end).join('\n');
    const line = i + 2;
    const marker = markerBefore(lines, i);
    if (marker !== undefined) {
      if (marker === '') throw new Error(`README line ${i}: "readme-check: skip" needs a reason.`);
      skipped.push({ line, reason: marker });
    } else {
      const named = FILE_COMMENT.exec(lines[i + 1] ?? '');
      const file = named ? named[1] : `readme/block-${String(line).padStart(4, '0')}.ts`;
      if (snippets.some((snippet) => snippet.file === file)) {
        throw new Error(`README line ${line}: a second block names ${file}.`);
      }
      snippets.push({ file, line, code: `${code}\n` });
    }
    i = end;
  }
  return { snippets, skipped };
}

/** Maps `file(line,col)` in compiler output back to README lines. */
export function toReadmeLines(output: string, snippets: Snippet[]): string {
  return output.replace(/^(\S+?\.ts)\((\d+),(\d+)\)/gm, (match, file: string, line: string, col: string) => {
    const snippet = snippets.find((candidate) => file.endsWith(candidate.file));
    return snippet ? `README.md:${snippet.line + Number(line) - 1}:${col} (${snippet.file})` : match;
  });
}

function closingFence(lines: string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (/^```\s*$/.test(lines[j])) return j;
  throw new Error(`README line ${open + 1}: code block without a closing fence.`);
}

function markerBefore(lines: string[], open: number): string | undefined {
  for (let j = open - 1; j >= 0; j--) {
    if (lines[j].trim() === '') continue;
    const match = SKIP_MARKER.exec(lines[j].trim());
    return match ? match[1] : undefined;
  }
  return undefined;
}
