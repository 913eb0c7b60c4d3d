import { ServiceUnavailableException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { RateLimitFailuresService } from './throttler-failures.service';
import { MemoryThrottlerStorage } from './throttler-memory.storage';
import type { RateLimitStorage } from './throttler.storage';

const TIERS = {
  address: { limit: 4, ttlMs: 60_000 },
  pair: { limit: 2, ttlMs: 60_000 },
  account: { limit: 100, ttlMs: 3_600_000 },
};
const OPTIONS = {
  subject: 'body.email',
  byAddress: 'address',
  byAddressAndSubject: 'pair',
  bySubject: 'account',
} as const;

function metric() {
  const fake = { total: 0, inc: () => (fake.total += 1), labels: () => fake };
  return fake as unknown as Counter & { total: number };
}

function attempt(email: string, ip = '203.0.113.1') {
  const headers = new Map<string, unknown>();
  const request = { ip, body: { email } } as unknown as FastifyRequest;
  const reply = {
    header: (name: string, value: unknown) => headers.set(name, value),
  } as unknown as FastifyReply;
  return { request, reply, headers };
}

describe(RateLimitFailuresService.name, () => {
  let storage: MemoryThrottlerStorage;
  let failures: RateLimitFailuresService;

  const make = (store: RateLimitStorage = storage, tiers = TIERS) =>
    new RateLimitFailuresService(
      { tiers, failOpen: true, slowdownMaxDelayMs: 4_000 },
      store,
      metric() as unknown as Counter<'tier'>,
      metric(),
    );
  const plan = () => failures.plan(OPTIONS as never)!;
  const reserve = (email: string, ip?: string) => {
    const { request, reply } = attempt(email, ip);
    return failures.reserve(plan(), request, reply);
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    storage = new MemoryThrottlerStorage();
    failures = make();
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  describe('#plan', () => {
    it('is undefined when limiting is off, and names a tier that is not configured', () => {
      const off = new RateLimitFailuresService(
        { tiers: TIERS, failOpen: true, enabled: false },
        storage,
        metric() as unknown as Counter<'tier'>,
        metric(),
      );
      expect(off.plan(OPTIONS as never)).toBeUndefined();
      expect(() => failures.plan({ ...OPTIONS, bySubject: 'nope' } as never)).toThrow(
        /'nope', which is not configured/,
      );
    });
  });

  describe('#reserve', () => {
    it('admits exactly the limit of concurrent attempts and takes the refused ones back', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => reserve('a@x')));
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
      // 2 failures reserved on the address, not 10: two more accounts fit
      await reserve('b@x');
      await reserve('c@x');
      await expect(reserve('d@x')).rejects.toThrow(ThrottlerException);
    });

    it('refuses with Retry-After, the seconds left of the window', async () => {
      await reserve('a@x');
      await reserve('a@x');
      jest.advanceTimersByTime(15_000);
      const { request, reply, headers } = attempt('a@x');
      await expect(failures.reserve(plan(), request, reply)).rejects.toThrow(
        'Too many failed attempts; retry in 45 s',
      );
      expect(headers.get('retry-after')).toBe(45);
    });

    it('counts only the address when the body names no account', async () => {
      for (let i = 0; i < 4; i++) await reserve(undefined as unknown as string);
      await expect(reserve('a@x')).rejects.toThrow(ThrottlerException);
    });

    it('past the account limit, one attempt per delay: 1 s, 2 s, 4 s, then the cap of 4 s', async () => {
      failures = make(storage, { ...TIERS, account: { limit: 1, ttlMs: 3_600_000 } });
      const waits: number[] = [];
      await reserve('acct', '198.51.100.1'); // the limit of 1: no delay yet
      for (let i = 2; i < 30 && waits.length < 4; i++) {
        const { request, reply, headers } = attempt('acct', `198.51.100.${i}`);
        try {
          await failures.reserve(plan(), request, reply);
        } catch (error) {
          expect(error).toBeInstanceOf(ThrottlerException);
          waits.push(headers.get('retry-after') as number);
          jest.advanceTimersByTime((headers.get('retry-after') as number) * 1_000);
        }
      }
      expect(waits).toEqual([1, 2, 4, 4]);
    });

    it('answers 503 when the storage cannot count', async () => {
      const broken = make({
        increment: () => Promise.reject(new Error('down')),
        incrementNow: () => undefined,
        refund: () => Promise.resolve(),
        reset: () => Promise.resolve(),
      });
      const { request, reply } = attempt('a@x');
      await expect(broken.reserve(broken.plan(OPTIONS as never)!, request, reply)).rejects.toThrow(
        ServiceUnavailableException,
      );
    });
  });

  describe('#succeeded and #cancelled', () => {
    it('a success resets the (address, account) counter and takes the rest back', async () => {
      await failures.succeeded(await reserve('a@x'));
      await reserve('a@x');
      await failures.succeeded(await reserve('a@x'));
      // the pair starts again: two failures fit; the address holds none of the successes
      await reserve('a@x');
      await reserve('a@x');
      await expect(reserve('a@x')).rejects.toThrow(ThrottlerException);
      await reserve('b@x');
      await expect(reserve('c@x')).rejects.toThrow(ThrottlerException);
    });

    it('a cancelled attempt counts nowhere', async () => {
      for (let i = 0; i < 10; i++) await failures.cancelled(await reserve('a@x'));
      await reserve('a@x');
      await reserve('a@x');
    });
  });
});
