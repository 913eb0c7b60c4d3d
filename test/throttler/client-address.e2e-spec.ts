import { startTestApp, TestApp } from '../utils/test-app';

/** Statuses of one GET per X-Forwarded-For value, in order. */
async function statusesFor(t: TestApp, forwardedFor: string[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const value of forwardedFor) {
    const res = await t.api.get('/api/config', { headers: { 'x-forwarded-for': value } });
    statuses.push(res.status);
  }
  return statuses;
}

describe('rate-limit client address (e2e)', () => {
  describe('TRUST_PROXY off (the default)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_DEFAULT: '3/1m', TRUST_PROXY: undefined });
    });
    afterAll(() => t.close());

    it('ignores a spoofed X-Forwarded-For: every request counts for the socket address', async () => {
      const spoofed = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
      expect(await statusesFor(t, spoofed)).toEqual([200, 200, 200, 429, 429]);
    });
  });

  describe('TRUST_PROXY=true', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_DEFAULT: '3/1m', TRUST_PROXY: 'true' });
    });
    afterAll(() => t.close());

    it('keys by the forwarded client address', async () => {
      const first = ['192.0.2.10', '192.0.2.10', '192.0.2.10', '192.0.2.10'];
      expect(await statusesFor(t, first)).toEqual([200, 200, 200, 429]);
      expect(await statusesFor(t, ['192.0.2.11'])).toEqual([200]);
    });

    it('keys an IPv6 client by its /64 network', async () => {
      const sameNetwork = [
        '2001:db8:1:2::1',
        '2001:db8:1:2::2',
        '2001:db8:1:2:ffff::3',
        '2001:db8:1:2::4',
      ];
      expect(await statusesFor(t, sameNetwork)).toEqual([200, 200, 200, 429]);
      expect(await statusesFor(t, ['2001:db8:1:3::1'])).toEqual([200]);
    });
  });

  describe('TRUST_PROXY=127.0.0.1 (one trusted proxy)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_DEFAULT: '3/1m', TRUST_PROXY: '127.0.0.1' });
    });
    afterAll(() => t.close());

    it('takes the address the proxy saw; entries the client prepends change nothing', async () => {
      const spoofed = [1, 2, 3, 4].map((n) => `10.9.9.${n}, 192.0.2.77`);
      expect(await statusesFor(t, spoofed)).toEqual([200, 200, 200, 429]);
      expect(await statusesFor(t, ['192.0.2.78'])).toEqual([200]);
    });
  });
});
