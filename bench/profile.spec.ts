import { codeOwner, CpuProfile, hotSpots, stageBreakdown } from './profile';

const frame = (id: number, functionName: string, url: string, hitCount: number) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
  hitCount,
});

describe('bench profile', () => {
  describe('codeOwner', () => {
    it('names npm packages, scoped ones included', () => {
      expect(codeOwner('file:///repo/node_modules/pino/lib/proto.js', 'write')).toBe('pino');
      expect(codeOwner('/repo/node_modules/@nestjs/core/router/x.js', 'handle')).toBe(
        '@nestjs/core',
      );
    });

    it('tells the app, Node and V8 apart', () => {
      expect(codeOwner('/repo/.data/bench/build/libs/cache/src/cache.service.js', 'get')).toBe(
        'app libs/cache',
      );
      expect(codeOwner('/repo/.data/bench/build/src/users/users.service.js', 'get')).toBe(
        'app src',
      );
      expect(codeOwner('node:internal/streams/writable', 'write')).toBe('node core');
      expect(codeOwner('', '(garbage collector)')).toBe('(garbage collector)');
      expect(codeOwner('', 'writev')).toBe('(native)');
    });
  });

  describe('hotSpots', () => {
    const profile: CpuProfile = {
      nodes: [
        frame(1, '(root)', '', 0),
        frame(2, '(idle)', '', 1000),
        frame(3, 'serialize', '/r/node_modules/fast-json-stringify/index.js', 30),
        frame(4, 'write', '/r/node_modules/pino/lib/proto.js', 50),
        frame(5, 'asJson', '/r/node_modules/pino/lib/tools.js', 10),
        frame(6, '(garbage collector)', '', 10),
      ],
    };

    it('shares self time by package and by function, leaving idle out', () => {
      const { owners, functions } = hotSpots(profile);
      expect(owners).toEqual([
        { name: 'pino', share: 0.6 },
        { name: 'fast-json-stringify', share: 0.3 },
        { name: '(garbage collector)', share: 0.1 },
      ]);
      expect(functions[0]).toEqual({ name: 'write pino/lib/proto.js:10', share: 0.5 });
    });

    it('is empty for a profile with no busy samples', () => {
      expect(hotSpots({ nodes: [frame(1, '(idle)', '', 5)] })).toEqual({
        owners: [],
        functions: [],
      });
    });
  });

  describe('stageBreakdown', () => {
    const node = (
      id: number,
      functionName: string,
      url: string,
      hitCount: number,
      children: number[] = [],
    ) => ({ ...frame(id, functionName, url, hitCount), children });
    // 4 samples of 250 µs over 2 requests
    const profile: CpuProfile = {
      startTime: 0,
      endTime: 1_000,
      samples: [1, 2, 3, 4],
      nodes: [
        node(1, '(root)', '', 0, [2, 3, 6]),
        node(2, '(idle)', '', 10),
        node(3, 'writePayload', '/r/node_modules/fastify/lib/reply.js', 1, [4]),
        node(4, 'Socket._writev', 'node:net', 0, [5]),
        node(5, 'writev', '', 2),
        node(6, 'write', '/r/node_modules/sonic-boom/index.js', 0, [7]),
        node(7, 'writeString', '', 1),
      ],
    };

    it('gives each sample the stage of its nearest frame that has one, per request', () => {
      expect(stageBreakdown(profile, 2)).toEqual([
        { stage: 'socket writes', share: 0.5, usPerRequest: 250 },
        { stage: 'Fastify routing and reply', share: 0.25, usPerRequest: 125 },
        { stage: 'logging', share: 0.25, usPerRequest: 125 },
      ]);
    });

    it('leaves the time per request out when the request count is unknown', () => {
      expect(stageBreakdown(profile).every((cost) => cost.usPerRequest === undefined)).toBe(true);
    });
  });
});
