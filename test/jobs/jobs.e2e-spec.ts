import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseService } from '@app/database';
import { JobsService } from '@app/jobs';
import {
  BLOCKING_JOB,
  FLAKY_JOB,
  HOPELESS_JOB,
  JobsFixtureModule,
} from '../fixtures/jobs-fixture.module';
import { errorBody, TestUser } from '../utils/api-client';
import { LogLine, waitForLogLines } from '../utils/log-lines';
import { parseSamples, Sample } from '../utils/prometheus-text';
import { startTestApp, TestApp } from '../utils/test-app';
import { testLogFile } from '../utils/test-logs';
import { sleep } from '../utils/net';
import { importAsync, JobBody, waitForJob } from './job-polling';
import { storedPosts, toCsv, trickyRows } from '../posts/csv-fixtures';

describe('Background jobs (e2e)', () => {
  let t: TestApp;
  let jobs: JobsService;
  let dataSource: DataSource;
  let owner: TestUser;

  beforeAll(async () => {
    // a run stopped halfway (a killed CI run) leaves fixture jobs behind in a shared database:
    // a blocking one would hold its type's only slot for a minute and stall the state tests
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin
      .query(
        `UPDATE pgboss.job SET state = 'cancelled', completed_on = now()
          WHERE name = ANY($1) AND state < 'completed'`,
        [[FLAKY_JOB.name, BLOCKING_JOB.name, HOPELESS_JOB.name]],
      )
      .finally(() => admin.end());
    // info: the job lines (started, completed) are what the logging test reads
    t = await startTestApp(
      { JOBS_POLL_INTERVAL_MS: '100', LOG_LEVEL: 'info', IMPORT_UPLOADS_SWEEP_MS: '200' },
      [JobsFixtureModule],
    );
    jobs = t.app.get(JobsService);
    dataSource = t.app.get(DataSource);
    owner = await t.api.createUser('Job Owner');
  });
  afterAll(() => t.close());

  const job = (id: string, token = owner.token) => t.api.get<JobBody>(`/api/jobs/${id}`, { token });

  describe('transactional enqueue (outbox)', () => {
    const stored = async (id: string) => {
      const [row] = (await dataSource.query(
        `SELECT (SELECT count(*) FROM pgboss.job WHERE id = $1)::int AS queued,
           (SELECT count(*) FROM job_records WHERE id = $1)::int AS records`,
        [id],
      )) as { queued: number; records: number }[];
      return row;
    };

    it('enqueues nothing when the transaction rolls back', async () => {
      const id = randomUUID();
      await expect(
        t.app.get(DatabaseService).transaction(async (manager) => {
          await jobs.enqueue(FLAKY_JOB, { failures: 0 }, { id, ownerId: owner.id }, manager);
          throw new Error('forced rollback');
        }),
      ).rejects.toThrow('forced rollback');
      expect(await stored(id)).toEqual({ queued: 0, records: 0 });
    });

    it('enqueues the job when the transaction commits', async () => {
      const id = randomUUID();
      await t.app
        .get(DatabaseService)
        .transaction((manager) =>
          jobs.enqueue(FLAKY_JOB, { failures: 0 }, { id, ownerId: owner.id }, manager),
        );
      expect(await stored(id)).toEqual({ queued: 1, records: 1 });
      expect((await waitForJob(t.api, owner.token, id)).state).toBe('completed');
    });

    it('register enqueues a welcome-notification in the user’s transaction, which completes', async () => {
      const user = await t.api.createUser('Newcomer');
      const list = await t.api.get<{ items: JobBody[] }>('/api/jobs', { token: user.token });
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0].type).toBe('welcome-notification');
      const done = await waitForJob(t.api, user.token, list.body.items[0].id);
      expect(done).toMatchObject({ state: 'completed', attempts: 1, error: null });
    });

    it('a refused registration (email taken) enqueues nothing', async () => {
      const before = await stored(randomUUID());
      const [{ count: jobsBefore }] = (await dataSource.query(
        `SELECT count(*)::int AS count FROM job_records WHERE type = 'welcome-notification'`,
      )) as { count: number }[];
      const res = await t.api.post('/api/auth/register', {
        email: owner.email,
        password: 'another password 123',
        name: 'Copy',
      });
      expect(res.status).toBe(409);
      const [{ count: jobsAfter }] = (await dataSource.query(
        `SELECT count(*)::int AS count FROM job_records WHERE type = 'welcome-notification'`,
      )) as { count: number }[];
      expect(jobsAfter).toBe(jobsBefore);
      expect(before).toEqual({ queued: 0, records: 0 });
    });
  });

  describe('states', () => {
    const cancelledStates = async (enqueueBlocking: (label: string) => Promise<string>) => {
      const first = await enqueueBlocking('first');
      // the job turns active before its handler reports progress: wait for both
      const active = await waitForJob(
        t.api,
        owner.token,
        first,
        (j) => j.state === 'active' && j.progress.done === 1,
      );
      expect(active).toMatchObject({ attempts: 1, progress: { done: 1, total: 2 } });
      expect(active.startedAt).not.toBeNull();
      expect(active.finishedAt).toBeNull();

      // concurrency 1: the second waits behind the first
      const second = await enqueueBlocking('second');
      const queued = (await job(second)).body;
      expect(queued).toMatchObject({ state: 'queued', attempts: 0, startedAt: null });

      const cancelledQueued = await t.api.delete<JobBody>(`/api/jobs/${second}`, {
        token: owner.token,
      });
      expect(cancelledQueued.status).toBe(200);
      expect(cancelledQueued.body.state).toBe('cancelled');

      const cancelledActive = await t.api.delete<JobBody>(`/api/jobs/${first}`, {
        token: owner.token,
      });
      expect(cancelledActive.body.state).toBe('cancelled');
      expect(cancelledActive.body.finishedAt).not.toBeNull();
      // the handler saw its signal abort: the slot is free again for the next job
      const third = await enqueueBlocking('third');
      await waitForJob(t.api, owner.token, third, (j) => j.state === 'active');
      await t.api.delete(`/api/jobs/${third}`, { token: owner.token });
      expect((await job(first)).body.state).toBe('cancelled');
    };

    it('queued → active (with progress) → cancelled, and a queued job → cancelled', async () => {
      const started: string[] = [];
      const enqueueBlocking = async (label: string) => {
        const id = await jobs.enqueue(BLOCKING_JOB, { label }, { ownerId: owner.id });
        started.push(id);
        return id;
      };
      try {
        await cancelledStates(enqueueBlocking);
      } finally {
        // a blocking job left active would hold the type's one slot for the tests after this one
        for (const id of started) await t.api.delete(`/api/jobs/${id}`, { token: owner.token });
      }
    });

    it('queued → active → completed, with the handler’s result', async () => {
      const id = await jobs.enqueue(FLAKY_JOB, { failures: 0 }, { ownerId: owner.id });
      const done = await waitForJob(t.api, owner.token, id);
      expect(done).toMatchObject({
        type: 'test-flaky',
        state: 'completed',
        attempts: 1,
        result: { attempt: 1 },
        error: null,
      });
      expect(new Date(done.finishedAt!).getTime()).toBeGreaterThanOrEqual(
        new Date(done.startedAt!).getTime(),
      );
    });

    it('retries a failing job with exponential backoff until it succeeds', async () => {
      const started = Date.now();
      const id = await jobs.enqueue(FLAKY_JOB, { failures: 2 }, { ownerId: owner.id });
      const retrying = await waitForJob(
        t.api,
        owner.token,
        id,
        (j) => j.state === 'queued' && j.error !== null,
      );
      expect(retrying.error).toBe('flaky failure 1');
      const done = await waitForJob(t.api, owner.token, id);
      expect(done).toMatchObject({ state: 'completed', attempts: 3, result: { attempt: 3 } });
      // 1 s then at least 2 s: the second wait doubles the first
      expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    });

    it('fails after its last attempt and keeps the error', async () => {
      const id = await jobs.enqueue(FLAKY_JOB, { failures: 9 }, { ownerId: owner.id });
      const failed = await waitForJob(t.api, owner.token, id);
      expect(failed).toMatchObject({ state: 'failed', attempts: 3, error: 'flaky failure 3' });
      expect(failed.finishedAt).not.toBeNull();
    });

    it('fails at once on a failure no retry can fix', async () => {
      const id = await jobs.enqueue(HOPELESS_JOB, {}, { ownerId: owner.id });
      const failed = await waitForJob(t.api, owner.token, id);
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: 'nothing to be done' });
    });
  });

  describe('ownership and listing', () => {
    it('another user’s job is a 404, for reading and for cancelling', async () => {
      const id = await jobs.enqueue(FLAKY_JOB, { failures: 0 }, { ownerId: owner.id });
      const stranger = await t.api.createUser('Stranger');
      const read = await job(id, stranger.token);
      expect(read.status).toBe(404);
      expect(read.body).toMatchObject(errorBody(404, 'no such job'));
      expect((await t.api.delete(`/api/jobs/${id}`, { token: stranger.token })).status).toBe(404);
      expect((await t.api.get(`/api/jobs/${id}`)).status).toBe(401);
      expect((await job(randomUUID())).status).toBe(404);
      expect((await job('not-a-uuid')).status).toBe(400);
    });

    it('lists the caller’s jobs newest first, by state, with keyset pagination', async () => {
      const user = await t.api.createUser('Lister');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(await jobs.enqueue(FLAKY_JOB, { failures: 0 }, { ownerId: user.id }));
      }
      const failed = await jobs.enqueue(HOPELESS_JOB, {}, { ownerId: user.id });
      for (const id of [...ids, failed]) await waitForJob(t.api, user.token, id);

      const first = await t.api.get('/api/jobs?state=completed&limit=2', { token: user.token });
      expect(first.status).toBe(200);
      // the welcome notification completed too
      expect(first.body.items.map((j: JobBody) => j.id)).toEqual([ids[2], ids[1]]);
      const second = await t.api.get(
        `/api/jobs?state=completed&limit=2&cursor=${first.body.nextCursor}`,
        { token: user.token },
      );
      expect(second.body.items.map((j: JobBody) => j.id)[0]).toBe(ids[0]);
      expect(second.body.items).toHaveLength(2);
      expect(second.body.nextCursor).toBeNull();

      const failedOnly = await t.api.get('/api/jobs?state=failed', { token: user.token });
      expect(failedOnly.body.items.map((j: JobBody) => j.id)).toEqual([failed]);
      expect((await t.api.get('/api/jobs?state=done', { token: user.token })).status).toBe(400);
      expect((await t.api.get('/api/jobs?cursor=x', { token: user.token })).status).toBe(400);
    });
  });

  describe('POST /api/imports/posts', () => {
    it('answers 202 with Location, then imports every row as the synchronous import does', async () => {
      const user = await t.api.createUser('Importer');
      const rows = trickyRows(2_000);
      const res = await importAsync(t.api, user.token, toCsv(rows));
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toBe(`/api/jobs/${res.body.id}`);
      expect(res.body).toMatchObject({ type: 'import-posts', state: 'queued', attempts: 0 });
      const done = await waitForJob(t.api, user.token, res.body.id);
      expect(done).toMatchObject({
        state: 'completed',
        result: { imported: 2_000, failed: 0, errors: [] },
      });
      expect(done.progress.done).toBe(done.progress.total);
      expect((await storedPosts(dataSource, user.id)).count).toBe(2_000);
    });

    it('a malformed file fails the job with the line, at once', async () => {
      const user = await t.api.createUser('Bad File');
      const res = await importAsync(t.api, user.token, 'title,body\n"never closed,x\n');
      expect(res.status).toBe(202);
      const failed = await waitForJob(t.api, user.token, res.body.id);
      expect(failed.state).toBe('failed');
      expect(failed.attempts).toBe(1);
      expect(failed.error).toMatch(/^line 2: /);
    });

    it('refuses what the synchronous import refuses: no token, another type', async () => {
      expect(
        (
          await t.api.request('POST', '/api/imports/posts', {
            rawBody: 'title,body\n',
            headers: { 'content-type': 'text/csv' },
          })
        ).status,
      ).toBe(401);
      const res = await t.api.request('POST', '/api/imports/posts', {
        rawBody: 'x',
        token: owner.token,
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(415);
    });
  });

  describe('stored CSV bodies (import_uploads)', () => {
    const uploadCount = async (id: string) => {
      const [{ count }] = (await dataSource.query(
        `SELECT count(*)::int AS count FROM import_uploads WHERE job_id = $1`,
        [id],
      )) as { count: number }[];
      return count;
    };
    /** The sweep runs every 200 ms here; 10 s leaves room for a loaded machine. */
    const uploadGone = async (id: string) => {
      const deadline = Date.now() + 10_000;
      while ((await uploadCount(id)) > 0) {
        if (Date.now() > deadline) throw new Error(`the upload of job ${id} is still stored`);
        await sleep(100);
      }
    };

    it('are deleted once the import has completed', async () => {
      const user = await t.api.createUser('Swept Completed');
      const res = await importAsync(t.api, user.token, toCsv(trickyRows(20)));
      expect((await waitForJob(t.api, user.token, res.body.id)).state).toBe('completed');
      await uploadGone(res.body.id);
    });

    it('are deleted once the import has failed', async () => {
      const user = await t.api.createUser('Swept Failed');
      const res = await importAsync(t.api, user.token, 'title,body\n"never closed,x\n');
      expect((await waitForJob(t.api, user.token, res.body.id)).state).toBe('failed');
      await uploadGone(res.body.id);
    });

    it('are deleted once the import is cancelled', async () => {
      const user = await t.api.createUser('Swept Cancelled');
      const res = await importAsync(t.api, user.token, toCsv(trickyRows(20_000)));
      const cancelled = await t.api.delete<JobBody>(`/api/jobs/${res.body.id}`, {
        token: user.token,
      });
      expect(cancelled.body.state).toBe('cancelled');
      await uploadGone(res.body.id);
    });

    it('stay while the job waits for a retry', async () => {
      const user = await t.api.createUser('Kept Body');
      const id = randomUUID();
      await t.app.get(DatabaseService).transaction(async (manager) => {
        await jobs.enqueue(FLAKY_JOB, { failures: 1 }, { id, ownerId: user.id }, manager);
        await manager.query(`INSERT INTO import_uploads (job_id, body) VALUES ($1, 'x')`, [id]);
      });
      await waitForJob(t.api, user.token, id, (j) => j.state === 'queued' && j.error !== null);
      // several sweeps pass during the 1 s retry delay
      await sleep(600);
      expect(await uploadCount(id)).toBe(1);
      expect((await waitForJob(t.api, user.token, id)).state).toBe('completed');
      await uploadGone(id);
    });
  });

  describe('metrics', () => {
    const scrape = async (): Promise<Sample[]> => {
      const res = await t.api.get('/metrics');
      expect(res.status).toBe(200);
      return parseSamples(res.text);
    };
    const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
      samples.find(
        (sample) =>
          sample.name === name &&
          Object.entries(labels).every(([key, label]) => sample.labels[key] === label),
      )?.value;

    it('jobs_total counts attempts by outcome; job_duration_seconds observes each', async () => {
      const before = await scrape();
      const retried = await jobs.enqueue(FLAKY_JOB, { failures: 1 }, { ownerId: owner.id });
      const hopeless = await jobs.enqueue(HOPELESS_JOB, {}, { ownerId: owner.id });
      await waitForJob(t.api, owner.token, retried);
      await waitForJob(t.api, owner.token, hopeless);
      const after = await scrape();
      const added = (name: string, labels: Record<string, string>) =>
        (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
      expect(added('jobs_total', { type: 'test-flaky', outcome: 'retried' })).toBe(1);
      expect(added('jobs_total', { type: 'test-flaky', outcome: 'completed' })).toBe(1);
      expect(added('jobs_total', { type: 'test-hopeless', outcome: 'failed' })).toBe(1);
      expect(added('job_duration_seconds_count', { type: 'test-flaky' })).toBe(2);
      expect(added('job_duration_seconds_count', { type: 'test-hopeless' })).toBe(1);
    });

    it('jobs_queued and jobs_oldest_queued_age_seconds read the queue at each scrape', async () => {
      const active = await jobs.enqueue(BLOCKING_JOB, { label: 'metrics' }, { ownerId: owner.id });
      // concurrency 1: these two wait behind it
      const waiting = [
        await jobs.enqueue(BLOCKING_JOB, { label: 'waiting 1' }, { ownerId: owner.id }),
        await jobs.enqueue(BLOCKING_JOB, { label: 'waiting 2' }, { ownerId: owner.id }),
      ];
      // cancelled whatever happens: a blocking job left behind would hold the type's one slot
      const cancelAll = async () => {
        for (const id of [...waiting, active]) {
          await t.api.delete(`/api/jobs/${id}`, { token: owner.token });
        }
      };
      try {
        await waitForJob(t.api, owner.token, active, (j) => j.state === 'active');
        await sleep(1_100);
        const backlog = await scrape();
        expect(value(backlog, 'jobs_queued', { type: 'test-blocking' })).toBe(2);
        // a lower bound only: the first waited at least the 1.1 s slept above
        expect(
          value(backlog, 'jobs_oldest_queued_age_seconds', { type: 'test-blocking' }),
        ).toBeGreaterThanOrEqual(1);
        // every queue has its series, 0 when nothing waits
        expect(value(backlog, 'jobs_queued', { type: 'test-hopeless' })).toBe(0);
      } finally {
        await cancelAll();
      }
      const drained = await scrape();
      expect(value(drained, 'jobs_queued', { type: 'test-blocking' })).toBe(0);
      expect(value(drained, 'jobs_oldest_queued_age_seconds', { type: 'test-blocking' })).toBe(0);
    });
  });

  describe('logs', () => {
    it('every line about a job carries its id and the id of the request that enqueued it', async () => {
      const user = await t.api.createUser('Logged Importer');
      const res = await importAsync(t.api, user.token, toCsv(trickyRows(10)));
      expect(res.status).toBe(202);
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toBeTruthy();
      await waitForJob(t.api, user.token, res.body.id);
      const ofJob = (line: LogLine) => line.jobId === res.body.id;
      const lines = await waitForLogLines(() => readFileSync(testLogFile(), 'utf8'), ofJob, {
        count: 2,
      });
      expect(lines.map((line) => line.msg)).toEqual(['job started', 'job completed']);
      for (const line of lines) {
        expect(line).toMatchObject({ requestId, jobType: 'import-posts', attempt: 1 });
      }
    });
  });
});
