import { codeOwner, CpuProfile, hotSpots } from './profile';

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
});
