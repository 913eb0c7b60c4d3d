import { readFile } from 'node:fs/promises';
import { formatNumber } from './stats';

/** The parts of a V8 `.cpuprofile` the summary reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }[];
}

export interface HotSpot {
  name: string;
  /** Share of the busy samples (idle excluded), 0–1. */
  share: number;
}

/** Where a frame's code comes from: an npm package, a part of the app, Node itself or V8. */
export function codeOwner(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return 'node core';
  const app = /\/(libs\/[^/]+|src)\//.exec(url);
  return app ? `app ${app[1]}` : url;
}

function frameName(url: string, functionName: string, lineNumber: number): string {
  const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/build\//, '');
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

function top(counts: Map<string, number>, total: number, limit: number): HotSpot[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, hits]) => ({ name, share: hits / total }));
}

/** Self time by owner (package) and by function, idle time left out. */
export function hotSpots(
  profile: CpuProfile,
  limit = 8,
): { owners: HotSpot[]; functions: HotSpot[] } {
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const { callFrame, hitCount = 0 } of profile.nodes) {
    if (hitCount === 0 || callFrame.functionName === '(idle)') continue;
    const { url, functionName, lineNumber } = callFrame;
    const owner = codeOwner(url, functionName);
    const name = frameName(url, functionName, lineNumber);
    owners.set(owner, (owners.get(owner) ?? 0) + hitCount);
    functions.set(name, (functions.get(name) ?? 0) + hitCount);
    total += hitCount;
  }
  if (total === 0) return { owners: [], functions: [] };
  return { owners: top(owners, total, limit), functions: top(functions, total, limit) };
}

const list = (spots: HotSpot[]) =>
  spots.map((spot) => `\`${spot.name}\` ${formatNumber(spot.share * 100)} %`).join(', ');

/** One line for the report's notes. */
export async function describeProfile(file: string): Promise<string> {
  const { owners, functions } = hotSpots(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
  return `by package: ${list(owners)}; hottest functions (self time): ${list(functions.slice(0, 6))}`;
}
