import { AppendingProxy, getFrom, startAppendingProxy } from '../utils/appending-proxy';
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

  it('refuses TRUST_PROXY=true at start, naming the variable and what to set', async () => {
    await expect(startTestApp({ TRUST_PROXY: 'true' })).rejects.toThrow(
      /TRUST_PROXY must not be true .*number of proxies.*addresses\/CIDRs/,
    );
  });

  describe('TRUST_PROXY=127.0.0.1 (the loopback proxy is trusted)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_DEFAULT: '3/1m', TRUST_PROXY: '127.0.0.1' });
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

    it('takes the address the proxy saw; entries the client prepends change nothing', async () => {
      const spoofed = [1, 2, 3, 4].map((n) => `10.9.9.${n}, 192.0.2.77`);
      expect(await statusesFor(t, spoofed)).toEqual([200, 200, 200, 429]);
      expect(await statusesFor(t, ['192.0.2.78'])).toEqual([200]);
    });
  });

  describe('TRUST_PROXY=1 behind a proxy that appends to X-Forwarded-For', () => {
    let t: TestApp;
    let proxy: AppendingProxy;
    beforeAll(async () => {
      t = await startTestApp({ RATE_LIMIT_DEFAULT: '3/1m', TRUST_PROXY: '1' });
      proxy = await startAppendingProxy(t.url);
    });
    afterAll(async () => {
      await proxy?.close();
      await t?.close();
    });

    it('keys on the address the proxy saw: spoofed entries give no fresh budget', async () => {
      const statuses: number[] = [];
      for (let n = 1; n <= 8; n++) {
        const spoofed = { 'x-forwarded-for': `198.51.100.${n}, 203.0.113.${n}` };
        statuses.push(await getFrom(`${proxy.url}/api/config`, '127.0.0.2', spoofed));
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
      // another client behind the same proxy has a budget of its own
      expect(await getFrom(`${proxy.url}/api/config`, '127.0.0.3')).toBe(200);
    });
  });
});
