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
import { BLOCK, DESCRIBE_THREAD } from './fixtures/tasks';

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
    expect(result).toEqual({ value: 'HELLO', threadId: expect.any(Number), typescriptHooks: true });
    expect(result.threadId).not.toBe(threadId);
    expect(worker.threads).toBe(1);
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
    const short = await startPool({ taskTimeoutMs: 200 });
    try {
      await expect(short.worker.run(BLOCK, 5_000)).rejects.toBeInstanceOf(
        WorkerTaskTimeoutException,
      );
      await expect(short.worker.run(BLOCK, 1)).resolves.toBe(1);
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
