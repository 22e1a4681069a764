// The main entry of the package, loaded on demand: it brings Nest and TypeORM,
// which `request`, `sign` and `migrate` do without.

type MainEntry = typeof import('../lib/index.js');
let mainEntry: MainEntry | undefined;

/**
 * Loads the package's main entry: the `keys` command does it before a
 * subcommand parses its arguments (commander's `preSubcommand` hook).
 */
export async function loadKeyRules(): Promise<void> {
  mainEntry ??= await import('../lib/index.js');
}

/** The main entry, once `loadKeyRules()` has run: the rules of service names and key rate limits, the key service. */
export function keyRules(): MainEntry {
  if (!mainEntry) throw new Error('the key rules are not loaded: await loadKeyRules() first.');
  return mainEntry;
}
