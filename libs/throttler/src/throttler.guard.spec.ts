import { ExecutionContext, ServiceUnavailableException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Reflector } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import type { Counter } from 'prom-client';
import { RateLimit } from './throttler.decorators';
import { RateLimitGuard } from './throttler.guard';
import { MemoryThrottlerStorage } from './throttler-memory.storage';
import type { RateLimitStorage } from './throttler.storage';

class Routes {
  plain() {}

  @RateLimit('auth', { by: ['address', 'body.email'] })
  login() {}

  @RateLimit('auth', { by: ['user', 'address'] })
  exportAll() {}

  @RateLimit('unknown' as any)
  misconfigured() {}
}

const TIERS = { default: { limit: 5, ttlMs: 60_000 }, auth: { limit: 2, ttlMs: 60_000 } };

function counter() {
  const byLabel = new Map<string, number>();
  const fake = {
    total: 0,
    inc: () => (fake.total += 1),
    labels: (label: string) => ({
      inc: () => byLabel.set(label, (byLabel.get(label) ?? 0) + 1),
    }),
    byLabel,
  };
  return fake;
}

function context(handler: () => void, url = '/api/routes', body?: unknown) {
  const headers = new Map<string, unknown>();
  const request = { ip: '203.0.113.9', headers: {}, body, routeOptions: { url } };
  const reply = { header: (name: string, value: unknown) => headers.set(name, value) };
  const executionContext: ExecutionContext = new ExecutionContextHost(
    [request, reply],
    Routes,
    handler,
  );
  return { executionContext, headers };
}

describe(RateLimitGuard.name, () => {
  let storage: MemoryThrottlerStorage;
  let rejections: ReturnType<typeof counter>;
  let failures: ReturnType<typeof counter>;

  const guard = (failOpen = true, store: RateLimitStorage = storage) =>
    new RateLimitGuard(
      { tiers: TIERS, failOpen },
      store,
      new Reflector(),
      rejections as unknown as Counter<'tier'>,
      failures as unknown as Counter,
    );

  beforeEach(() => {
    storage = new MemoryThrottlerStorage();
    rejections = counter();
    failures = counter();
  });
  afterEach(() => storage.onApplicationShutdown());

  describe('#canActivate', () => {
    it('limits nothing when switched off (enabled: false)', async () => {
      const off = new RateLimitGuard(
        { tiers: TIERS, failOpen: true, enabled: false },
        storage,
        new Reflector(),
        rejections as unknown as Counter<'tier'>,
        failures as unknown as Counter,
      );
      const increment = jest.spyOn(storage, 'increment');
      for (let i = 0; i < 3; i++) {
        const { executionContext, headers } = context(Routes.prototype.login, '/api/routes', {
          email: 'a@b.c',
        });
        expect(await off.canActivate(executionContext)).toBe(true);
        expect(headers.size).toBe(0);
      }
      expect(increment).not.toHaveBeenCalled();
    });

    it('leaves routes outside the scope alone', async () => {
      const { executionContext, headers } = context(Routes.prototype.plain, '/health/live');
      const subject = guard();
      for (let i = 0; i < 10; i++) expect(await subject.canActivate(executionContext)).toBe(true);
      expect(headers.size).toBe(0);
      expect(storage.size).toBe(0);
    });

    it('sends the headers of the counter closest to its limit', async () => {
      const { executionContext, headers } = context(Routes.prototype.login, '/api/routes', {
        email: 'a@b.test',
      });
      await guard().canActivate(executionContext);
      expect(Object.fromEntries(headers)).toEqual({
        'ratelimit-limit': 2,
        'ratelimit-remaining': 1,
        'ratelimit-reset': 60,
      });
    });

    it('refuses with 429 and Retry-After, counting one rejection per tier', async () => {
      const subject = guard();
      const login = () =>
        context(Routes.prototype.login, '/api/routes', { email: 'a@b.test' }).executionContext;
      await subject.canActivate(login());
      await subject.canActivate(login());
      const { executionContext, headers } = context(Routes.prototype.login, '/api/routes', {
        email: 'a@b.test',
      });
      await expect(async () => subject.canActivate(executionContext)).rejects.toThrow(
        ThrottlerException,
      );
      expect(headers.get('retry-after')).toBe(60);
      // both auth counters (address and email) are over: still one auth rejection
      expect(Object.fromEntries(rejections.byLabel)).toEqual({ auth: 1 });
    });

    it("by ['user', 'address']: an anonymous caller counts once, by address; a signed-in one by both", async () => {
      let caller: number | undefined = undefined;
      const subject = new RateLimitGuard(
        { tiers: TIERS, failOpen: true, identify: () => caller },
        storage,
        new Reflector(),
        rejections as unknown as Counter<'tier'>,
        failures as unknown as Counter,
      );
      const exportAll = () => context(Routes.prototype.exportAll).executionContext;
      expect(await subject.canActivate(exportAll())).toBe(true);
      expect(await subject.canActivate(exportAll())).toBe(true);
      caller = 7;
      // a fresh user budget, but the address has spent its two
      await expect(async () => subject.canActivate(exportAll())).rejects.toThrow(
        ThrottlerException,
      );
      expect(storage.hit('loadstar:rate-limit:auth:u:7', 60_000, 2, Date.now()).totalHits).toBe(2);
    });

    it('names a tier that is not configured', async () => {
      const { executionContext } = context(Routes.prototype.misconfigured);
      await expect(async () => guard().canActivate(executionContext)).rejects.toThrow(
        /unknown.*not configured/,
      );
    });

    describe('when the storage fails', () => {
      const broken: RateLimitStorage = {
        increment: () => Promise.reject(new Error('down')),
        incrementNow: () => undefined,
        refund: () => Promise.resolve(),
        reset: () => Promise.resolve(),
      };

      it('lets the request through when failing open, and counts the failure', async () => {
        const { executionContext, headers } = context(Routes.prototype.plain);
        expect(await guard(true, broken).canActivate(executionContext)).toBe(true);
        expect(failures.total).toBe(1);
        expect(headers.size).toBe(0);
      });

      it('still applies the counters that did answer, when their tier counts locally', async () => {
        // as the Redis storage does for its local tiers: 'auth' answers, 'default' fails
        const partly: RateLimitStorage = {
          ...broken,
          increment: (key, ttl, limit, block, tier) =>
            tier === 'auth'
              ? storage.increment(key, ttl, limit)
              : Promise.reject(new Error('down')),
        };
        const subject = new RateLimitGuard(
          { tiers: TIERS, failOpen: true, localFallbackTiers: ['auth'] },
          partly,
          new Reflector(),
          rejections as unknown as Counter<'tier'>,
          failures as unknown as Counter,
        );
        const login = () =>
          context(Routes.prototype.login, '/api/routes', { email: 'a@b.test' }).executionContext;
        expect(await subject.canActivate(login())).toBe(true);
        expect(await subject.canActivate(login())).toBe(true);
        await expect(async () => subject.canActivate(login())).rejects.toThrow(ThrottlerException);
        expect(failures.total).toBe(3);
      });

      it('answers 503 when failing closed, and counts the failure', async () => {
        const { executionContext } = context(Routes.prototype.plain);
        await expect(guard(false, broken).canActivate(executionContext)).rejects.toThrow(
          ServiceUnavailableException,
        );
        expect(failures.total).toBe(1);
      });
    });
  });
});
