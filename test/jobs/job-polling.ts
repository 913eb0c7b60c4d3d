import type { ApiClient } from '../utils/api-client';
import { sleep } from '../utils/net';

/** A job as `GET /api/jobs/:id` answers it. */
export interface JobBody {
  id: string;
  type: string;
  state: 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';
  progress: { done: number; total: number | null };
  attempts: number;
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Polls the job until `until` holds (default: it has ended); fails after `timeoutMs`. */
export async function waitForJob(
  api: ApiClient,
  token: string,
  id: string,
  until: (job: JobBody) => boolean = (job) =>
    ['completed', 'failed', 'cancelled'].includes(job.state),
  timeoutMs = 25_000,
): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get<JobBody>(`/api/jobs/${id}`, { token });
    if (res.status !== 200) throw new Error(`GET /api/jobs/${id}: ${res.status} ${res.text}`);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

/** `POST /api/imports/posts` with a CSV body. */
export function importAsync(api: ApiClient, token: string, csv: string | Buffer) {
  return api.request<JobBody>('POST', '/api/imports/posts', {
    rawBody: csv,
    token,
    headers: { 'content-type': 'text/csv' },
  });
}
