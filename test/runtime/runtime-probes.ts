import { request } from 'node:http';
import { sleep } from '../utils/net';

/** What one request on a fresh connection got: a status code, or why it got none. */
export type ProbeResult = number | 'refused' | 'failed';

/**
 * One GET on a new connection (no keep-alive pool), so that it shows whether the listener
 * still accepts: `refused` once it has closed.
 */
export function probe(port: number, path: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 'failed'));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : 'failed'),
    );
    req.end();
  });
}

/** Probes `path` every 50 ms until the connection is refused; returns every result in order. */
export async function probeUntilRefused(
  port: number,
  path: string,
  timeoutMs = 30_000,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  const deadline = Date.now() + timeoutMs;
  while (results.at(-1) !== 'refused' && Date.now() < deadline) {
    results.push(await probe(port, path));
    await sleep(50);
  }
  return results;
}

/** A POST whose headers and first half of the body are sent; `finish()` sends the rest. */
export interface RequestInFlight {
  /** Sends the rest of the body; resolves like {@link outcome}. */
  finish(): Promise<ProbeResult>;
  /** The response's status, or `failed` when the connection ended without one. */
  outcome: Promise<ProbeResult>;
}

/**
 * Starts a JSON POST on its own connection and resolves once its headers and the first half
 * of its body have been written, so the server is in the middle of it until `finish()`.
 */
export function startPostInFlight(
  port: number,
  path: string,
  body: unknown,
  token: string,
): Promise<RequestInFlight> {
  const payload = Buffer.from(JSON.stringify(body));
  const half = Math.floor(payload.length / 2);
  const req = request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': payload.length,
      authorization: `Bearer ${token}`,
    },
  });
  const outcome = new Promise<ProbeResult>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 'failed'));
    });
    req.on('error', () => resolve('failed'));
  });
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.write(payload.subarray(0, half), () =>
      resolve({
        finish: () => {
          req.end(payload.subarray(half));
          return outcome;
        },
        outcome,
      }),
    );
  });
}
