import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

/**
 * Every namespace and link of a run is named `lsmh<pid>…` after the test process that made
 * it (interface names hold 15 characters: 4 + at most 7 digits + 2 + the host's number).
 */
const PREFIX = 'lsmh';
const NAME = new RegExp(`^${PREFIX}(\\d+)[nh]\\d+$`);

/** A host: a network namespace joined to the root namespace by a veth pair. */
export interface NetworkHost {
  netns: string;
  /** The veth end inside the namespace: set down to cut the host off. */
  peerLink: string;
  /** The veth end in the root namespace. */
  rootLink: string;
  /** The root namespace's address on the link, where the host reaches the shared services. */
  gateway: string;
  /** The host's own address. */
  address: string;
}

/** The hosts of one run, and the /16 their links are numbered from. */
export interface NetworkHosts {
  hosts: NetworkHost[];
  /** `10.<n>.0.0/16`, blackholed in the root namespace for as long as the run lasts. */
  range: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipQuietly(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/** Why network namespaces cannot be made here, or `undefined` when they can. */
export function netnsRefusal(): string | undefined {
  const probe = `${PREFIX}${process.pid}n0`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    if (code === 'ENOENT') return '`ip` (iproute2) is not installed';
    return stderr?.trim() || String(error);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the namespaces, links and blackhole routes of runs whose test process is gone (a run
 * killed before its afterAll), and any left under this process's own pid (a pid reused).
 */
export function removeLeftovers(): void {
  const staleOwner = (pid: number) => pid > 0 && (pid === process.pid || !alive(pid));
  const stale = (name: string) => staleOwner(Number(NAME.exec(name)?.[1]));
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (stale(name)) removeNamespace(name);
  }
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+:\s+([^:@]+)/.exec(line)?.[1];
    if (name && stale(name)) ipQuietly('link', 'del', name);
  }
  // a run's range is blackholed with its pid as the route's metric
  for (const line of ip('-4', 'route', 'show', 'type', 'blackhole').split('\n')) {
    const match = /^blackhole (10\.\d+\.0\.0\/16) .*metric (\d+)/.exec(line);
    if (match && staleOwner(Number(match[2]))) {
      ipQuietly('route', 'del', 'blackhole', match[1], 'metric', match[2]);
    }
  }
}

/**
 * Takes a 10.n.0.0/16 no route of this machine touches, by adding a blackhole route for it
 * (metric: the pid): a range another run took first is skipped. The blackhole also keeps the
 * run's traffic on this machine: wherever a link's /24 route is gone (its root end down or
 * deleted), traffic to the host's address would otherwise leave by the default route, where
 * this machine's egress proxy answers HTTP with `403 resolve_deny` (the 403s an earlier
 * version of the host-loss test saw, relayed by nginx as if the host had answered them).
 */
function reserveRange(): string {
  for (let attempt = 0; attempt < 50; attempt++) {
    const octet = randomInt(100, 250);
    if (ip('-4', 'route', 'show', 'table', 'all').includes(`10.${octet}.`)) continue;
    try {
      ip('route', 'add', 'blackhole', `10.${octet}.0.0/16`, 'metric', String(process.pid));
      return `10.${octet}.0.0/16`;
    } catch {
      // taken by a parallel run in the meantime
    }
  }
  throw new Error('no free 10.n.0.0/16 for the network hosts');
}

/**
 * Makes `count` hosts, each a namespace with a veth pair on a /24 of its own: 10.n.i.1 at the
 * root end, 10.n.i.2 in the namespace.
 */
export function createHosts(count: number): NetworkHosts {
  const range = reserveRange();
  const octet = range.split('.')[1];
  const made: NetworkHosts = { hosts: [], range };
  try {
    for (let i = 1; i <= count; i++) {
      const host: NetworkHost = {
        netns: `${PREFIX}${process.pid}n${i}`,
        rootLink: `${PREFIX}${process.pid}h${i}`,
        peerLink: `${PREFIX}${process.pid}p${i}`,
        gateway: `10.${octet}.${i}.1`,
        address: `10.${octet}.${i}.2`,
      };
      ip('netns', 'add', host.netns);
      made.hosts.push(host);
      ip('link', 'add', host.rootLink, 'type', 'veth', 'peer', 'name', host.peerLink);
      ip('link', 'set', host.peerLink, 'netns', host.netns);
      ip('addr', 'add', `${host.gateway}/24`, 'dev', host.rootLink);
      ip('link', 'set', host.rootLink, 'up');
      ip('-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', host.peerLink);
      ip('-n', host.netns, 'link', 'set', host.peerLink, 'up');
      ip('-n', host.netns, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    removeHosts(made);
    throw error;
  }
  return made;
}

/**
 * Cuts a host off as a pulled cable would: its own end of the link goes down, the root
 * namespace keeps its route, and whatever is sent to the host is lost without an answer.
 */
export function cutLink(host: NetworkHost): void {
  ip('-n', host.netns, 'link', 'set', host.peerLink, 'down');
}

/** Kills, by pid, every process still running in the namespace, then deletes it. */
function removeNamespace(netns: string): void {
  let pids: string[] = [];
  try {
    pids = ip('netns', 'pids', netns).split('\n').filter(Boolean);
  } catch {
    return; // already gone
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  ipQuietly('netns', 'del', netns);
}

/**
 * Deletes the hosts' namespaces (killing what still runs in them: a process a failed start
 * left behind) and links, and frees their range; what is gone is skipped.
 */
export function removeHosts({ hosts, range }: NetworkHosts): void {
  for (const host of hosts) {
    removeNamespace(host.netns);
    ipQuietly('link', 'del', host.rootLink);
  }
  ipQuietly('route', 'del', 'blackhole', range, 'metric', String(process.pid));
}
