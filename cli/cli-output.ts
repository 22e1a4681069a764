/** Writes to stdout; with `--json` only a JSON document goes there. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints one JSON document (Dates as ISO 8601 strings). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** An instant for people: ISO 8601, UTC, whole seconds; `never`/`-` for null. */
export function formatInstant(date: Date | null, none = '-'): string {
  if (date === null) return none;
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/** Left-aligned columns separated by two spaces, headed by `header`. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
