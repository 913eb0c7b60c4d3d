import { getHeapStatistics } from 'node:v8';
import { ServiceUnavailableException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import fastifyUnderPressure, { TYPE_EVENT_LOOP_DELAY } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { installSmallBodyCompression } from './http-compression';
import { toErrorResponse } from './http.errors';
import { installWriteCoalescing } from './http-write-coalescing';
import { HttpAppOptions } from './interfaces';

/** Contract: responses OVER 1 KB are compressed; `@fastify/compress` compresses from `threshold` on. */
const COMPRESSION_THRESHOLD_BYTES = 1_025;

/**
 * Text and structured types only: never images, archives or `application/octet-stream`
 * (usually already compressed, or a binary stream where compressing costs CPU for nothing).
 */
const COMPRESSIBLE_TYPES =
  /^text\/(?!event-stream)|^application\/(?:[\w.-]+\+)?(?:json|xml)|^application\/x-ndjson/;

/**
 * How often load shedding samples the event loop and the heap, at the least. under-pressure
 * reads a sample in which its 10 ms timer never fired as an infinite delay, so one stall
 * longer than the interval would shed even when it is under the threshold: the interval is
 * never shorter than the threshold ({@link sampleIntervalFor}).
 */
const PRESSURE_SAMPLE_INTERVAL_MS = 500;

function sampleIntervalFor(maxEventLoopDelayMs: number): number {
  return Math.max(PRESSURE_SAMPLE_INTERVAL_MS, maxEventLoopDelayMs);
}

/**
 * Starting up (module init, migrations, listen) blocks the event loop far longer than serving
 * does, and the first samples taken after `listen` still cover that time (or hold no data at
 * all, which under-pressure reads as an infinite delay): a fresh instance would shed its first
 * requests. The event-loop delay counts only once a whole sample after `listen` is in.
 */
const SAMPLES_BEFORE_EVENT_LOOP_COUNTS = 2;

/** Operations routes answer under pressure too: liveness must stay truthful and metrics readable. */
const EXEMPT_FROM_SHEDDING = /^\/(?:health|metrics)(?:[/?]|$)/;

const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'etag',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
];

/**
 * `@fastify/under-pressure` sends what its handler returns (and continues on `undefined`),
 * though its typings declare `void`.
 */
type SheddingHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  value: number | undefined,
) => void;

function createLoadShedder(fastify: FastifyInstance, sampleIntervalMs: number): SheddingHandler {
  let eventLoopDelayCountsFrom = Infinity;
  fastify.addHook('onListen', (done) => {
    eventLoopDelayCountsFrom =
      performance.now() + SAMPLES_BEFORE_EVENT_LOOP_COUNTS * sampleIntervalMs;
    done();
  });
  const shedLoad = (request: FastifyRequest, reply: FastifyReply, type: string): unknown => {
    if (EXEMPT_FROM_SHEDDING.test(request.url)) return undefined;
    if (type === TYPE_EVENT_LOOP_DELAY && performance.now() < eventLoopDelayCountsFrom) {
      return undefined;
    }
    const { body, headers } = toErrorResponse(
      new ServiceUnavailableException('The server is overloaded; retry shortly'),
      request.id,
    );
    void reply.code(body.statusCode).headers(headers);
    return body;
  };
  return shedLoad as SheddingHandler;
}

/**
 * Registers the HTTP runtime's Fastify plugins: load shedding first (an overloaded process
 * answers 503 before doing any work), CORS when configured, and compression of responses over
 * 1 KB (small bodies in one call, larger ones and streams by `@fastify/compress`); in-memory
 * responses are written together once a turn's requests are read (`installWriteCoalescing`).
 * Security headers are set with the request id (`createResponseHeadersHook`).
 */
export async function registerHttpPlugins(
  app: NestFastifyApplication,
  config: HttpAppOptions,
): Promise<void> {
  const { maxEventLoopDelayMs, maxHeapUsedRatio } = config.shedding;
  const fastify = app.getHttpAdapter().getInstance();
  installWriteCoalescing(fastify);
  const sampleInterval = sampleIntervalFor(maxEventLoopDelayMs);
  await app.register(fastifyUnderPressure, {
    sampleInterval,
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * maxHeapUsedRatio),
    pressureHandler: createLoadShedder(fastify, sampleInterval),
  });

  if (config.corsOrigins !== false) {
    await app.register(fastifyCors, {
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
    });
  }

  installSmallBodyCompression(fastify, {
    thresholdBytes: COMPRESSION_THRESHOLD_BYTES,
    compressibleTypes: COMPRESSIBLE_TYPES,
  });
  await app.register(fastifyCompress, {
    threshold: COMPRESSION_THRESHOLD_BYTES,
    encodings: ['br', 'gzip'],
    customTypes: COMPRESSIBLE_TYPES,
  });
}
