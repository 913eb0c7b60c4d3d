import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readContainerResources } from './container-resources';

const GIB = 1024 ** 3;
/** What the kernel writes for "no limit" in cgroup v1's memory.limit_in_bytes. */
const V1_UNLIMITED = '9223372036854771712';
/** A 16-core node with 64 GiB, as Node sees it from inside any of its containers. */
const HOST = { hostCpus: 16, hostMemoryMb: 65_536 };

describe('readContainerResources', () => {
  let dir: string;

  /** Writes `files` (path under the fixture folder → content) and reads them as the kernel's. */
  function read(files: Record<string, string>) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), `${content}\n`);
    }
    return readContainerResources({
      ...HOST,
      cgroupRoot: join(dir, 'sys/fs/cgroup'),
      procSelfCgroup: join(dir, 'proc/self/cgroup'),
    });
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loadstar-cgroup-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('#cgroup v2', () => {
    it("reads a container's cpu.max and memory.max (own cgroup namespace)", () => {
      expect(
        read({
          'proc/self/cgroup': '0::/',
          'sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids',
          'sys/fs/cgroup/cpu.max': '200000 100000',
          'sys/fs/cgroup/memory.max': String(512 * 1_048_576),
        }),
      ).toEqual({ cpus: 2, memoryMb: 512 });
    });

    it('rounds a fractional quota down, to at least one CPU', () => {
      const files = { 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cgroup.controllers': 'cpu' };
      expect(read({ ...files, 'sys/fs/cgroup/cpu.max': '150000 100000' }).cpus).toBe(1);
      expect(read({ ...files, 'sys/fs/cgroup/cpu.max': '50000 100000' }).cpus).toBe(1);
    });

    it("takes the machine's figures where the limits say max", () => {
      expect(
        read({
          'proc/self/cgroup': '0::/',
          'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
          'sys/fs/cgroup/cpu.max': 'max 100000',
          'sys/fs/cgroup/memory.max': 'max',
        }),
      ).toEqual({ cpus: 16, memoryMb: 65_536 });
    });

    it("walks up from the process's cgroup and keeps the smallest limit (pod above container)", () => {
      const pod = 'sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice';
      expect(
        read({
          'proc/self/cgroup': '0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope',
          'sys/fs/cgroup/cgroup.controllers': 'cpu memory',
          [`${pod}/cpu.max`]: '300000 100000',
          [`${pod}/memory.max`]: String(GIB),
          [`${pod}/cri-containerd-c1.scope/cpu.max`]: '400000 100000',
          [`${pod}/cri-containerd-c1.scope/memory.max`]: 'max',
        }),
      ).toEqual({ cpus: 3, memoryMb: 1024 });
    });

    it('reads only the mount root when the path lies outside the cgroup namespace', () => {
      expect(
        read({
          'proc/self/cgroup': '0::/../../system.slice/other.scope',
          'sys/fs/cgroup/cgroup.controllers': 'cpu',
          'sys/fs/cgroup/cpu.max': '100000 100000',
        }),
      ).toEqual({ cpus: 1, memoryMb: 65_536 });
    });
  });

  describe('#cgroup v1', () => {
    it("reads the quota and the memory limit at the controllers' mounts (a container)", () => {
      expect(
        read({
          // the host's paths; inside the container each mount root is the container's cgroup
          'proc/self/cgroup': [
            '12:memory:/kubepods/burstable/pod1/c1',
            '4:cpu,cpuacct:/kubepods/burstable/pod1/c1',
            '0::/',
          ].join('\n'),
          'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '250000',
          'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
          'sys/fs/cgroup/memory/memory.limit_in_bytes': String(768 * 1_048_576),
        }),
      ).toEqual({ cpus: 2, memoryMb: 768 });
    });

    it("takes the machine's figures for quota -1 and the unlimited memory value (hybrid host)", () => {
      expect(
        read({
          'proc/self/cgroup': ['4:memory:/session/1', '2:cpu:/', '1:cpuacct:/', '0::/'].join('\n'),
          // hybrid mode: a v2 hierarchy without controllers, not at the root
          'sys/fs/cgroup/unified/cgroup.controllers': '',
          'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
          'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
          'sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
          'sys/fs/cgroup/memory/session/1/memory.limit_in_bytes': V1_UNLIMITED,
        }),
      ).toEqual({ cpus: 16, memoryMb: 65_536 });
    });

    it('keeps the smallest limit of the hierarchy on a host without namespaces', () => {
      expect(
        read({
          'proc/self/cgroup': ['4:memory:/app/worker', '2:cpu:/app/worker', '0::/'].join('\n'),
          'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
          'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
          'sys/fs/cgroup/cpu/app/cpu.cfs_quota_us': '400000',
          'sys/fs/cgroup/cpu/app/cpu.cfs_period_us': '100000',
          'sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
          'sys/fs/cgroup/memory/app/worker/memory.limit_in_bytes': String(2 * GIB),
        }),
      ).toEqual({ cpus: 4, memoryMb: 2048 });
    });
  });

  it("takes the machine's figures when no cgroup file can be read", () => {
    expect(read({})).toEqual({ cpus: 16, memoryMb: 65_536 });
  });

  it('never counts more CPUs than the process may run on', () => {
    expect(
      read({
        'proc/self/cgroup': '0::/',
        'sys/fs/cgroup/cgroup.controllers': 'cpu',
        'sys/fs/cgroup/cpu.max': '3200000 100000',
      }).cpus,
    ).toBe(16);
  });
});
