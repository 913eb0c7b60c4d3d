import { createHash, Hash } from 'node:crypto';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { PayloadTooLargeException } from '@nestjs/common';

/**
 * The hash that tells whether a repeat is the same request: method, URL and body. A parsed
 * body is hashed at once; a streamed body (handed to the handler unread) as the handler reads
 * it, through {@link StreamFingerprint}.
 */
export function hashOf(method: string, url: string): Hash {
  return createHash('sha256').update(`${method} ${url}\n`);
}

/** Hash of a request whose body was parsed (JSON) or is absent. */
export function parsedBodyFingerprint(method: string, url: string, body: unknown): string {
  const hash = hashOf(method, url);
  if (Buffer.isBuffer(body) || typeof body === 'string') hash.update(body);
  else hash.update(JSON.stringify(body ?? null));
  return hash.digest('hex');
}

/**
 * Hashes a streamed body on its way to the handler; the fingerprint is known only once the
 * handler has read the body to its end.
 */
export class StreamFingerprint extends Transform {
  private digest: string | undefined;

  constructor(private readonly hash: Hash) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    done();
  }

  /** The fingerprint, or `undefined` when the body was not read to its end. */
  result(): string | undefined {
    return this.digest;
  }
}

/** Reads a streamed body to its end (at most `maxBytes`, else 413) and returns its fingerprint. */
export async function readStreamFingerprint(
  hash: Hash,
  body: Readable,
  maxBytes: number,
): Promise<string> {
  let bytes = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    if (bytes > maxBytes) {
      body.destroy();
      throw new PayloadTooLargeException(`body over ${maxBytes} bytes`);
    }
    hash.update(buffer);
  }
  return hash.digest('hex');
}
