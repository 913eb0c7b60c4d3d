import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  hashOf,
  parsedBodyFingerprint,
  readStreamFingerprint,
  StreamFingerprint,
} from './request-fingerprint';

describe(StreamFingerprint.name, () => {
  it('equals the fingerprint of the same body read whole', async () => {
    const chunks = ['title,body\n', 'a,b\n', 'c,d\n'];
    const passing = new StreamFingerprint(hashOf('POST', '/import'));
    const seen: string[] = [];
    await pipeline(Readable.from(chunks), passing, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) seen.push(chunk.toString());
    });
    expect(seen.join('')).toBe(chunks.join(''));
    const whole = await readStreamFingerprint(
      hashOf('POST', '/import'),
      Readable.from(chunks.map((c) => Buffer.from(c))),
      1_000,
    );
    expect(passing.result()).toBe(whole);
  });

  it('has no fingerprint while the body is not read to its end', () => {
    const passing = new StreamFingerprint(hashOf('POST', '/import'));
    passing.write('partial');
    expect(passing.result()).toBeUndefined();
  });
});

describe(parsedBodyFingerprint.name, () => {
  it('differs by method, URL and body', () => {
    const base = parsedBodyFingerprint('POST', '/api/posts', { title: 'a' });
    expect(parsedBodyFingerprint('POST', '/api/posts', { title: 'a' })).toBe(base);
    expect(parsedBodyFingerprint('PATCH', '/api/posts', { title: 'a' })).not.toBe(base);
    expect(parsedBodyFingerprint('POST', '/api/posts/1', { title: 'a' })).not.toBe(base);
    expect(parsedBodyFingerprint('POST', '/api/posts', { title: 'b' })).not.toBe(base);
  });
});

describe(readStreamFingerprint.name, () => {
  it('refuses a body over the limit with a 413', async () => {
    const attempt = readStreamFingerprint(hashOf('POST', '/'), Readable.from(['x'.repeat(11)]), 10);
    await expect(attempt).rejects.toMatchObject({ status: 413 });
  });
});
