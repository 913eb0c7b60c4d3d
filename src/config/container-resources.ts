import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, posix } from 'node:path';

const MIB = 1_048_576;
/**
 * Share of a process's memory that its worker threads may take together: their heaps and the
 * native memory of the password hashes they compute.
 */
const WORKER_MEMORY_SHARE = 0.25;
/** Heap of one worker thread: a thread is only added when it can have the least. */
const WORKER_HEAP_MB = { least: 64, most: 256 };

/** What one machine or container gives the loadstar processes started in it. */
export interface ContainerResources {
  /**
   * Whole CPUs: the cgroup's CPU quota rounded down (at least 1) when one is set, never more
   * than the CPUs the process may run on (`os.availableParallelism()`).
   */
  cpus: number;
  /** Memory in MiB: the cgroup's memory limit when one is set, else the machine's memory. */
  memoryMb: number;
}

/** Where {@link readContainerResources} looks; the defaults are the running process's. */
export interface ContainerResourcesOptions {
  /** @default '/sys/fs/cgroup' */
  cgroupRoot?: string;
  /** The process's cgroup memberships. @default '/proc/self/cgroup' */
  procSelfCgroup?: string;
  /** CPUs the process may run on. @default os.availableParallelism() */
  hostCpus?: number;
  /** Memory of the machine in MiB. @default os.totalmem() */
  hostMemoryMb?: number;
}

interface CgroupLimits {
  /** CPU quota in CPUs (may be fractional). */
  cpus?: number;
  memoryBytes?: number;
}

/**
 * The CPU and memory limits of the process's cgroup (v2, else v1), read from the kernel's
 * files, falling back to the machine's figures where no limit is set. Node 20's
 * `os.availableParallelism()` counts the CPUs of the node, not the container's quota, so a pod
 * limited to 2 CPUs on a 16-core node would size its pools for 16.
 *
 * Every cgroup from the process's own up to the root is read and the smallest limit wins, so a
 * limit set on a parent (a Kubernetes pod, a systemd slice) counts as well. Inside a container
 * with its own cgroup namespace, or with the v1 controllers mounted at the container's cgroup,
 * the mount root is the container's cgroup and the same walk finds its limits.
 *
 * @example readContainerResources() // { cpus: 2, memoryMb: 512 } in a pod limited to 2 CPUs and 512Mi
 */
export function readContainerResources(
  options: ContainerResourcesOptions = {},
): ContainerResources {
  const root = options.cgroupRoot ?? '/sys/fs/cgroup';
  const hostCpus = options.hostCpus ?? availableParallelism();
  const hostMemoryMb = options.hostMemoryMb ?? Math.floor(totalmem() / MIB);
  const memberships = readMemberships(options.procSelfCgroup ?? '/proc/self/cgroup');
  // A pure v2 system mounts the unified hierarchy at the root; in hybrid mode the root is a
  // tmpfs of v1 mounts and the v2 hierarchy there carries no CPU or memory controller.
  const limits = existsSync(join(root, 'cgroup.controllers'))
    ? cgroupV2Limits(root, memberships.get('') ?? '/')
    : cgroupV1Limits(root, memberships);
  return {
    cpus:
      limits.cpus === undefined
        ? hostCpus
        : Math.min(hostCpus, Math.max(1, Math.floor(limits.cpus))),
    memoryMb:
      limits.memoryBytes === undefined
        ? hostMemoryMb
        : Math.min(hostMemoryMb, Math.floor(limits.memoryBytes / MIB)),
  };
}

/**
 * What one of `processes` loadstar processes started side by side may use: an equal part of
 * the CPUs and memory (PM2 instances, or cluster workers and their standby).
 */
export function processShare(resources: ContainerResources, processes: number): ContainerResources {
  return { cpus: resources.cpus / processes, memoryMb: resources.memoryMb / processes };
}

/** `DB_POOL_MAX`'s default: `2 × CPUs + 1` of the process's share, at least 2. */
export function defaultPoolMax(share: ContainerResources): number {
  return Math.max(2, Math.round(2 * share.cpus) + 1);
}

/**
 * Native memory (outside V8's heap) of one scrypt hash at N = 2^`costLog2` and r = 8 (the
 * password hasher's block size): 128 · r · N bytes, 128 MiB at OWASP's N = 2^17. Each worker
 * thread may be computing one, so each thread counts it on top of its heap.
 */
export function scryptMemoryMb(costLog2: number): number {
  return 2 ** (costLog2 - 10);
}

/**
 * `WORKER_POOL_SIZE`'s default: one thread per CPU of the share but the event loop's, and no
 * more threads than a quarter of the share's memory holds, each at {@link WORKER_HEAP_MB}.least
 * of heap plus `nativeMbPerThread` (a password hash's memory); at least one.
 */
export function defaultWorkerPoolSize(
  share: ContainerResources,
  nativeMbPerThread: number,
): number {
  const byMemory = Math.floor(
    (share.memoryMb * WORKER_MEMORY_SHARE) / (WORKER_HEAP_MB.least + nativeMbPerThread),
  );
  return Math.max(1, Math.min(Math.floor(share.cpus) - 1, byMemory));
}

/**
 * `WORKER_POOL_HEAP_MB`'s default: a quarter of the share's memory split among `threads`,
 * less each thread's `nativeMbPerThread`, within {@link WORKER_HEAP_MB}.
 */
export function defaultWorkerHeapMb(
  share: ContainerResources,
  threads: number,
  nativeMbPerThread: number,
): number {
  const even = Math.floor((share.memoryMb * WORKER_MEMORY_SHARE) / threads) - nativeMbPerThread;
  return Math.min(WORKER_HEAP_MB.most, Math.max(WORKER_HEAP_MB.least, even));
}

/** `/proc/self/cgroup` as controller list → path (`''` is the v2 hierarchy's). */
function readMemberships(file: string): Map<string, string> {
  const memberships = new Map<string, string>();
  for (const line of readText(file)?.split('\n') ?? []) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (match) memberships.set(match[1], match[2]);
  }
  return memberships;
}

function cgroupV2Limits(root: string, path: string): CgroupLimits {
  const limits: CgroupLimits = {};
  for (const dir of selfAndAncestors(root, path)) {
    const [quota, period] = readText(join(dir, 'cpu.max'))?.split(/\s+/) ?? [];
    if (quota !== undefined && quota !== 'max') {
      limits.cpus = smaller(limits.cpus, Number(quota) / Number(period || 100_000));
    }
    const memory = readText(join(dir, 'memory.max'));
    if (memory !== undefined && memory !== 'max') {
      limits.memoryBytes = smaller(limits.memoryBytes, Number(memory));
    }
  }
  return limits;
}

function cgroupV1Limits(root: string, memberships: Map<string, string>): CgroupLimits {
  const limits: CgroupLimits = {};
  for (const dir of v1Hierarchy(root, memberships, 'cpu')) {
    const quota = Number(readText(join(dir, 'cpu.cfs_quota_us')));
    const period = Number(readText(join(dir, 'cpu.cfs_period_us')));
    if (quota > 0 && period > 0) limits.cpus = smaller(limits.cpus, quota / period);
  }
  for (const dir of v1Hierarchy(root, memberships, 'memory')) {
    // "no limit" is a huge page-aligned number here; the machine's memory caps it anyway
    const limit = Number(readText(join(dir, 'memory.limit_in_bytes')));
    if (limit > 0) limits.memoryBytes = smaller(limits.memoryBytes, limit);
  }
  return limits;
}

/** The v1 hierarchy of `controller`, mounted under its list's name (`cpu,cpuacct`) or its own. */
function v1Hierarchy(root: string, memberships: Map<string, string>, controller: string): string[] {
  for (const [controllers, path] of memberships) {
    if (!controllers.split(',').includes(controller)) continue;
    const mount = [controllers, controller]
      .map((name) => join(root, name))
      .find((dir) => existsSync(dir));
    return mount ? selfAndAncestors(mount, path) : [];
  }
  return [];
}

/**
 * `mount/path` and each parent up to `mount`. Folders that do not exist are listed too (and
 * read as nothing): in a container the path is the host's and only the mount root is there.
 */
function selfAndAncestors(mount: string, path: string): string[] {
  // a cgroup namespace shows paths outside it as /../..: only the mount root is ours then
  const segments = path.split('/').includes('..')
    ? []
    : posix.normalize(`/${path}`).split('/').filter(Boolean);
  return segments
    .map((_, i) => join(mount, ...segments.slice(0, segments.length - i)))
    .concat(mount);
}

function smaller(current: number | undefined, next: number): number {
  return current === undefined || next < current ? next : current;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
