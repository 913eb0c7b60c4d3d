import { ApiClient, ApiResponse } from './api-client';
import { sleep } from './net';

/** Readiness reports no degraded part: Redis, when configured, is connected. */
export const fullyReady = (res: ApiResponse) =>
  res.status === 200 && Array.isArray(res.body?.degraded) && res.body.degraded.length === 0;

/**
 * Polls `GET /health/ready` until `done` holds for an answer (or `timeoutMs` passes) and returns
 * the last answer. Readiness opens its Redis connection in the background at start, so a fresh
 * app may call Redis degraded for a moment.
 */
export async function readinessUntil(
  api: ApiClient,
  done: (res: ApiResponse) => boolean = fullyReady,
  timeoutMs = 20_000,
): Promise<ApiResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get('/health/ready');
    if (done(res) || Date.now() > deadline) return res;
    await sleep(100);
  }
}
