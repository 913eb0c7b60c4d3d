import { threadId } from 'node:worker_threads';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MetricValueWithName, register } from 'prom-client';
import {
  WORKER_POOL_QUEUE_SIZE,
  WORKER_POOL_TASK_DURATION,
  WorkerModule,
  WorkerModuleOptions,
  WorkerPoolBusyException,
  WorkerService,
  WorkerTaskTimeoutException,
} from '@app/worker';
import { importCsv } from '../posts/csv-fixtures';
import { errorBody, TestUser } from '../utils/api-client';
import { sleep } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';
import { BLOCK, DESCRIBE_THREAD } from './fixtures/tasks';
import { threadNice } from './fixtures/thread-nice';

async function startPool(options: Partial<WorkerModuleOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      WorkerModule.forRoot({
        size: 1,
        maxQueue: 1,
        taskTimeoutMs: 10_000,
        offload: true,
        ...options,
      }),
    ],
  }).compile();
  await moduleRef.init();
  return { moduleRef, worker: moduleRef.get(WorkerService) };
}

async function durationCount(task: string, outcome: string): Promise<number> {
  const metric = await register.getSingleMetric(WORKER_POOL_TASK_DURATION)!.get();
  const sample = (metric.values as MetricValueWithName<string>[]).find(
    (value) =>
      value.metricName === `${WORKER_POOL_TASK_DURATION}_count` &&
      value.labels.task === task &&
      value.labels.outcome === outcome,
  );
  return sample?.value ?? 0;
}

describe('worker pool (e2e)', () => {
  let moduleRef: INestApplicationContext;
  let worker: WorkerService;

  beforeAll(async () => {
    ({ moduleRef, worker } = await startPool());
  });
  afterAll(() => moduleRef.close());

  it('runs a TypeScript task file in a worker thread from the sources (Jest)', async () => {
    expect(DESCRIBE_THREAD.filename).toMatch(/describe-thread\.task\.ts$/);
    const result = await worker.run(DESCRIBE_THREAD, { value: 'hello' });
    expect(result).toEqual({
      value: 'HELLO',
      threadId: expect.any(Number),
      nice: expect.any(Number),
      resourceLimits: expect.any(Object),
      typescriptHooks: true,
    });
    expect(result.threadId).not.toBe(threadId);
    expect(worker.threads).toBe(1);
  });

  it('gives each thread the heap it is configured with and the defaults for the other limits', async () => {
    expect((await worker.run(DESCRIBE_THREAD, { value: 'limits' })).resourceLimits).toMatchObject({
      maxOldGenerationSizeMb: 256,
      maxYoungGenerationSizeMb: 32,
      stackSizeMb: 4,
    });
    const small = await startPool({ resourceLimits: { maxOldGenerationSizeMb: 48 } });
    try {
      const { resourceLimits } = await small.worker.run(DESCRIBE_THREAD, { value: 'small' });
      expect(resourceLimits).toMatchObject({
        maxOldGenerationSizeMb: 48,
        maxYoungGenerationSizeMb: 32,
        stackSizeMb: 4,
      });
    } finally {
      await small.moduleRef.close();
    }
  });

  it('runs its threads 10 nice steps below the event loop, or at its priority with 0', async () => {
    const { nice } = await worker.run(DESCRIBE_THREAD, { value: 'nice' });
    expect(nice).toBe(Math.min(19, threadNice() + 10));
    const even = await startPool({ niceIncrement: 0 });
    try {
      expect((await even.worker.run(DESCRIBE_THREAD, { value: 'even' })).nice).toBe(threadNice());
    } finally {
      await even.moduleRef.close();
    }
  });

  it('answers 503 when every thread is busy and the queue is full, then recovers', async () => {
    const running = worker.run(BLOCK, 300);
    const queued = worker.run(BLOCK, 1);
    const queueGauge = await register.getSingleMetric(WORKER_POOL_QUEUE_SIZE)!.get();
    expect(queueGauge.values[0].value).toBe(1);
    const refused = worker.run(BLOCK, 1);
    await expect(refused).rejects.toBeInstanceOf(WorkerPoolBusyException);
    await expect(refused).rejects.toMatchObject({ status: 503 });
    await expect(Promise.all([running, queued])).resolves.toEqual([300, 1]);
    await expect(worker.run(BLOCK, 1)).resolves.toBe(1);
    expect(await durationCount('block', 'busy')).toBe(1);
    expect(await durationCount('block', 'ok')).toBeGreaterThanOrEqual(3);
  });

  it('runs a waiting high-priority task first, admitted even when the normal lane is full', async () => {
    const finished: string[] = [];
    const track = (name: string, task: Promise<number>) =>
      task.then((value) => {
        finished.push(name);
        return value;
      });
    const running = track('running', worker.run(BLOCK, 300));
    const normal = track('normal', worker.run(BLOCK, 1));
    // the normal lane (1 thread + 1 waiting) is full ...
    await expect(worker.run(BLOCK, 1)).rejects.toBeInstanceOf(WorkerPoolBusyException);
    // ... the high one is not, and its task overtakes the normal one waiting
    const urgent = track('high', worker.run(BLOCK, 2, { priority: 'high' }));
    const queueGauge = await register.getSingleMetric(WORKER_POOL_QUEUE_SIZE)!.get();
    expect(queueGauge.values[0].value).toBe(2);
    await expect(Promise.all([running, normal, urgent])).resolves.toEqual([300, 1, 2]);
    expect(finished).toEqual(['running', 'high', 'normal']);
  });

  it('cancels a queued task and a running one (whose thread is replaced)', async () => {
    const controller = new AbortController();
    const running = worker.run(BLOCK, 5_000, { signal: controller.signal });
    const queued = worker.run(BLOCK, 1, { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await expect(worker.run(DESCRIBE_THREAD, { value: 'again' })).resolves.toMatchObject({
      value: 'AGAIN',
    });
    expect(await durationCount('block', 'aborted')).toBe(2);
  });

  it('aborts a task over its time budget with a 503 and keeps serving', async () => {
    // The budget includes the wait for a thread: the killed thread's replacement boots with
    // the TypeScript hooks here (about 0.4 s on a busy machine), so the budget leaves room.
    const short = await startPool({ taskTimeoutMs: 1_500 });
    try {
      await expect(short.worker.run(BLOCK, 20_000)).rejects.toBeInstanceOf(
        WorkerTaskTimeoutException,
      );
      // on a busy CI the replacement can take longer than the budget to boot: the pool serves
      // again once it is up, a try or two later
      let served: number | undefined;
      for (let attempt = 0; attempt < 5 && served === undefined; attempt++) {
        served = await short.worker.run(BLOCK, 1).catch((error: unknown) => {
          if (error instanceof WorkerTaskTimeoutException) return undefined;
          throw error;
        });
      }
      expect(served).toBe(1);
    } finally {
      await short.moduleRef.close();
    }
    expect(short.worker.threads).toBe(0);
  });

  it('runs tasks on the calling thread when the offload is off', async () => {
    const inline = await startPool({ offload: false });
    try {
      expect(inline.worker.threads).toBe(0);
      await expect(inline.worker.run(DESCRIBE_THREAD, { value: 'main' })).resolves.toMatchObject({
        value: 'MAIN',
        threadId,
      });
    } finally {
      await inline.moduleRef.close();
    }
  });
});

/** The value of a sample in a Prometheus scrape whose name and labels contain all of `parts`. */
function sampleOf(scrape: string, name: string, ...parts: string[]): number | undefined {
  const line = scrape
    .split('\n')
    .find((text) => text.startsWith(name) && parts.every((part) => text.includes(part)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('worker pool behind the API: one thread, no queue (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  const csv = 'title,body\npooled,"parsed in the pool"\n';

  beforeAll(async () => {
    t = await startTestApp({ WORKER_POOL_SIZE: '1', WORKER_POOL_MAX_QUEUE: '0' });
    // The login decoy's hash, computed at start, holds the only thread for a moment.
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (sampleOf((await t.api.get('/metrics')).text, 'worker_pool_utilization ') === 0) break;
      await sleep(50);
    }
    user = await t.api.createUser();
  });
  afterAll(() => t.close());

  it('a full pool answers 503 with Retry-After; /metrics shows it; then the import goes through', async () => {
    const busy = t.app.get(WorkerService).run(BLOCK, 3_000);
    try {
      const refused = await importCsv(t.api, user.token, csv);
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual(errorBody(503, 'The server is busy; retry shortly'));
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      const scrape = (await t.api.get('/metrics')).text;
      expect(sampleOf(scrape, 'worker_pool_utilization ')).toBe(1);
      expect(sampleOf(scrape, 'worker_pool_queue_size ')).toBe(0);
      expect(
        sampleOf(scrape, 'worker_pool_task_duration_seconds_count', 'task="parse-csv"', 'busy'),
      ).toBe(1);
    } finally {
      await busy;
    }

    const accepted = await importCsv(t.api, user.token, csv);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toEqual({ imported: 1, failed: 0, errors: [] });
    const scrape = (await t.api.get('/metrics')).text;
    expect(sampleOf(scrape, 'worker_pool_utilization ')).toBe(0);
    expect(
      sampleOf(scrape, 'worker_pool_task_duration_seconds_count', 'task="parse-csv"', '"ok"'),
    ).toBeGreaterThanOrEqual(1);
    expect(scrape).toMatch(/^worker_pool_task_duration_seconds_bucket\{.*task="parse-csv"/m);
  });

  it('hashes passwords in the pool: a login derives its key there', async () => {
    const derived = async () =>
      sampleOf(
        (await t.api.get('/metrics')).text,
        'worker_pool_task_duration_seconds_count',
        'task="derive-key"',
        '"ok"',
      ) ?? 0;
    const before = await derived();
    const login = await t.api.post('/api/auth/login', {
      email: user.email,
      password: user.password,
    });
    expect(login.status).toBe(200);
    expect(await derived()).toBe(before + 1);
  });
});
