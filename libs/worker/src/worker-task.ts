import { basename, isAbsolute } from 'node:path';

/**
 * What a task file exports as `default`. It runs in a worker thread: it receives a
 * structured-cloned input and must not rely on anything of the main thread (no DI, no
 * database). Aborting a running task kills its thread, so a task must be idempotent.
 */
export type WorkerTaskHandler<I, O> = (input: I) => O | Promise<O>;

/** A typed handle to a task file, made by {@link defineWorkerTask}. */
export interface WorkerTask<I, O> {
  /** Absolute path of the task file: `.ts` when running from sources, `.js` from `dist/`. */
  readonly filename: string;
  /** The task's label in metrics and logs: the file's base name without `.task.js`. */
  readonly name: string;
  /** Carries the handler's types to `WorkerService.run`; never set. */
  readonly types?: { input: I; output: O };
}

const TASK_SUFFIX = /(\.task)?\.[cm]?[jt]s$/;

/**
 * Declares a task: a file beside the module that needs it, whose default export is the
 * handler. Pass `require.resolve('./tasks/<name>.task')`: it resolves to the `.ts` file under
 * Jest and ts-node and to the compiled `.js` file in `dist/`, and loads nothing. The handler's
 * type comes in through a type-only import, so the main thread never loads the task's code.
 *
 * @example
 * // src/reports/tasks/render-report.task.ts
 * export default function renderReport(input: ReportInput): string { … }
 *
 * // src/reports/reports.tasks.ts
 * import type renderReport from './tasks/render-report.task';
 * export const RENDER_REPORT = defineWorkerTask<typeof renderReport>(
 *   require.resolve('./tasks/render-report.task'),
 * );
 *
 * // anywhere with WorkerService injected
 * const html = await this.worker.run(RENDER_REPORT, input, { signal });
 */
export function defineWorkerTask<H extends (input: never) => unknown>(
  filename: string,
): WorkerTask<Parameters<H>[0], Awaited<ReturnType<H>>> {
  if (!isAbsolute(filename)) {
    throw new Error(`a worker task needs an absolute file name, got ${filename}`);
  }
  return { filename, name: basename(filename).replace(TASK_SUFFIX, '') };
}
