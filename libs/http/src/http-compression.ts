import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyInstance, FastifyReply, onSendHookHandler } from 'fastify';

/**
 * Largest body compressed in one synchronous call. `@fastify/compress` compresses through a
 * stream per response (a `Readable`, a peek stream, a zlib stream and their pipes): for a 1 KB
 * JSON body that is about 100 µs of CPU, against about 35 µs for `brotliCompressSync` at the
 * same quality (measured here). Up to this size the synchronous call holds the event loop for
 * well under a millisecond; larger bodies and streams are left to `@fastify/compress`.
 */
const SYNC_COMPRESSION_MAX_BYTES = 16 * 1024;

/** `@fastify/compress`'s own brotli default: quality 11 costs far more for little gain. */
const BROTLI_QUALITY = 4;

const SUPPORTED_ENCODINGS = ['br', 'gzip'];
/** `x-gzip` is an alias of `gzip` (RFC 9110 §8.4.1.3). */
const GZIP_ALIAS = /\bx-gzip\b/g;

type SupportedEncoding = 'br' | 'gzip';

/**
 * One body and its compressed forms, kept by whoever keeps the body (the cache, beside each
 * entry) so that a body sent many times is compressed once per encoding, not once per response.
 */
export interface EncodedForms {
  readonly body: string;
  br?: Buffer;
  gzip?: Buffer;
}

const ENCODED_FORMS = Symbol('loadstar:encoded-forms');
type RepliesWithForms = FastifyReply & { [ENCODED_FORMS]?: EncodedForms };

/**
 * Lets the compression hook reuse, and fill, `forms` when this reply's body is `forms.body`
 * (any other body is compressed as usual).
 */
export function reuseEncodedForms(reply: FastifyReply, forms: EncodedForms): void {
  (reply as RepliesWithForms)[ENCODED_FORMS] = forms;
}

function compress(payload: string | Buffer, encoding: SupportedEncoding, size: number): Buffer {
  return encoding === 'br'
    ? brotliCompressSync(payload, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [constants.BROTLI_PARAM_SIZE_HINT]: size,
        },
      })
    : gzipSync(payload);
}

/** Options of {@link installSmallBodyCompression}. */
export interface SmallBodyCompressionOptions {
  /** Bodies of fewer bytes are sent as they are. */
  thresholdBytes: number;
  /** Content types worth compressing. */
  compressibleTypes: RegExp;
}

function appendVary(current: unknown): string {
  if (typeof current !== 'string' || current === '') return 'accept-encoding';
  return /\baccept-encoding\b|\*/i.test(current) ? current : `${current}, accept-encoding`;
}

/**
 * Compresses string and buffer bodies between `thresholdBytes` and 16 KB in one synchronous
 * call, as a route-level `onSend` hook added ahead of `@fastify/compress`'s (install this one
 * first): route hooks run after the global ones, so a reply turned into a 304 by then is not
 * compressed, and `@fastify/compress` leaves a body that already has a `Content-Encoding`.
 * Same rules as the plugin: `x-no-compression` honoured, `Accept-Encoding` negotiated (br before
 * gzip), `Vary: accept-encoding` set, `Content-Length` dropped. A body whose reply carries its
 * {@link EncodedForms} is compressed at most once per encoding.
 */
export function installSmallBodyCompression(
  fastify: FastifyInstance,
  options: SmallBodyCompressionOptions,
): void {
  const negotiator = new Negotiator({ supportedValues: SUPPORTED_ENCODINGS });
  const { thresholdBytes, compressibleTypes } = options;

  const compressSmallBody: onSendHookHandler = (request, reply, payload, done) => {
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
    const accepted = request.headers['accept-encoding'];
    if (accepted === undefined || request.headers['x-no-compression'] !== undefined) {
      return done(null, payload);
    }
    if (reply.getHeader('content-encoding') !== undefined) return done(null, payload);
    const type = reply.getHeader('content-type');
    if (typeof type !== 'string' || !compressibleTypes.test(type)) return done(null, payload);
    // after the header checks: measuring a string body reads all of it
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size < thresholdBytes || size > SYNC_COMPRESSION_MAX_BYTES) return done(null, payload);
    const encoding = negotiator.negotiate(accepted.toLowerCase().replace(GZIP_ALIAS, 'gzip'));
    if (encoding !== 'br' && encoding !== 'gzip') return done(null, payload);

    const forms = (reply as RepliesWithForms)[ENCODED_FORMS];
    const kept = forms !== undefined && forms.body === payload ? forms : undefined;
    let compressed = kept?.[encoding];
    if (compressed === undefined) {
      compressed = compress(payload, encoding, size);
      if (kept !== undefined) kept[encoding] = compressed;
    }
    void reply
      .header('content-encoding', encoding)
      .header('vary', appendVary(reply.getHeader('vary')))
      .removeHeader('content-length');
    done(null, compressed);
  };

  fastify.addHook('onRoute', (route) => {
    const hooks = route.onSend;
    route.onSend =
      hooks === undefined
        ? [compressSmallBody]
        : Array.isArray(hooks)
          ? [...(hooks as onSendHookHandler[]), compressSmallBody]
          : [hooks as onSendHookHandler, compressSmallBody];
  });
}
