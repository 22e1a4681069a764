// Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`, or `node --cpu-prof`):
//   node dist/bench/profile-summary.js <file.cpuprofile> [--top N] [--filter TEXT]
// Prints the functions with the most self time, and the inclusive time of the
// functions whose location matches --filter (default: this library's files).
import { readFileSync } from 'node:fs';
import { isMain, parseArgs } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  ms: number;
  percent: number;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

export function summarise(profile: Profile, top: number, filter: string): { total: number; self: ProfileLine[]; inclusive: ProfileLine[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = profile.endTime - profile.startTime;

  const selfByLabel = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const name = label(byId.get(id)!);
    selfByLabel.set(name, (selfByLabel.get(name) ?? 0) + us);
  }

  // Inclusive time per label, counting each label once per stack (recursion-safe).
  const inclusiveByLabel = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = label(byId.get(cur)!);
      if (seen.has(name)) continue;
      seen.add(name);
      if (name.includes(filter)) inclusiveByLabel.set(name, (inclusiveByLabel.get(name) ?? 0) + us);
    }
  }
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / total }));
  return { total, self: lines(selfByLabel), inclusive: lines(inclusiveByLabel) };
}

if (isMain(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top N] [--filter TEXT]');
    process.exit(2);
  }
  const args = parseArgs(rest);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const result = summarise(profile, Number(args.get('top') ?? 30), args.get('filter') ?? 'dist/lib/');
  const print = (title: string, lines: ProfileLine[]) => {
    console.log(`\n${title}`);
    for (const l of lines) console.log(`${l.percent.toFixed(1).padStart(6)}%  ${l.ms.toFixed(0).padStart(7)} ms  ${l.name}`);
  };
  console.log(`profile: ${(result.total / 1e6).toFixed(1)} s`);
  print('self time', result.self);
  print(`inclusive time of frames matching "${args.get('filter') ?? 'dist/lib/'}"`, result.inclusive);
}
