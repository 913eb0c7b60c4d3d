import { readFile } from 'node:fs/promises';
import { formatNumber } from './stats';

/** The parts of a V8 `.cpuprofile` the summary reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }[];
  /** Microseconds, like `endTime`; with `samples`, they give the sampling interval. */
  startTime?: number;
  endTime?: number;
  samples?: number[];
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

/** The stages of a cached read, by the code that does them. */
const STAGE_OF_OWNER: Readonly<Record<string, string>> = {
  'app libs/throttler': 'rate limiter',
  '@nestjs/throttler': 'rate limiter',
  'app libs/cache': 'cache lookup',
  'cache-manager': 'cache lookup',
  keyv: 'cache lookup',
  'app libs/logging': 'logging',
  pino: 'logging',
  'sonic-boom': 'logging',
  'nestjs-pino': 'logging',
  'app libs/metrics': 'metrics',
  'prom-client': 'metrics',
  '@willsoto/nestjs-prometheus': 'metrics',
  '@fastify/compress': 'compression decision',
  '@fastify/accept-negotiator': 'compression decision',
  '@redis/client': 'Redis client',
  '@nestjs/core': 'Nest pipeline',
  '@nestjs/common': 'Nest pipeline',
  '@nestjs/platform-fastify': 'Nest pipeline',
  rxjs: 'Nest pipeline',
  fastify: 'Fastify routing and reply',
  'find-my-way': 'Fastify routing and reply',
  'app src': 'app (controller, service)',
  '(garbage collector)': 'garbage collection',
};

/** The stage of one frame, or `undefined` when its caller's stage applies. */
function stageOfFrame(url: string, functionName: string): string | undefined {
  if (url === 'node:net' && functionName.startsWith('Socket._write')) return 'socket writes';
  if (url.includes('/libs/http/src/http-compression')) return 'compression decision';
  if (functionName === 'requestIdFor' || functionName === 'randomUUID') return 'request id';
  if (url.includes('/libs/http/src/')) return 'HTTP hooks (headers, shedding)';
  return STAGE_OF_OWNER[codeOwner(url, functionName)];
}

export interface StageCost {
  stage: string;
  share: number;
  /** CPU microseconds per request, when the request count is known. */
  usPerRequest?: number;
}

/**
 * Busy time by stage of the request: each sample goes to the stage of its nearest frame that
 * has one (a socket `writev` under Fastify's reply counts for Fastify, a file write under
 * pino for logging); what no stage claims is Node's HTTP parser and sockets.
 */
export function stageBreakdown(profile: CpuProfile, requests?: number): StageCost[] {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      const stage = stageOfFrame(url, functionName);
      if (stage !== undefined) return stage;
    }
    return 'Node HTTP parser and sockets';
  };
  const hits = new Map<string, number>();
  let total = 0;
  for (const { id, callFrame, hitCount = 0 } of profile.nodes) {
    if (hitCount === 0 || callFrame.functionName === '(idle)') continue;
    const stage = stageOf(id);
    hits.set(stage, (hits.get(stage) ?? 0) + hitCount);
    total += hitCount;
  }
  const { startTime, endTime, samples } = profile;
  const intervalUs =
    startTime !== undefined && endTime !== undefined && samples?.length
      ? (endTime - startTime) / samples.length
      : undefined;
  return [...hits]
    .sort((a, b) => b[1] - a[1])
    .map(([stage, count]) => ({
      stage,
      share: count / total,
      usPerRequest:
        intervalUs !== undefined && requests ? (count * intervalUs) / requests : undefined,
    }));
}

const list = (spots: HotSpot[]) =>
  spots.map((spot) => `\`${spot.name}\` ${formatNumber(spot.share * 100)} %`).join(', ');

const stages = (costs: StageCost[]) =>
  costs
    .map(
      ({ stage, share, usPerRequest }) =>
        `${stage} ${formatNumber(share * 100)} %` +
        (usPerRequest === undefined ? '' : ` (${formatNumber(usPerRequest)} µs)`),
    )
    .join(', ');

/** One line for the report's notes; `requests` served while profiling gives µs per request. */
export async function describeProfile(file: string, requests?: number): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const { owners, functions } = hotSpots(profile);
  return (
    `by stage of the request (CPU per request): ${stages(stageBreakdown(profile, requests))}; ` +
    `by package: ${list(owners)}; hottest functions (self time): ${list(functions.slice(0, 6))}`
  );
}
