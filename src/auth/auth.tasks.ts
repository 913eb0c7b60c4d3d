import { defineWorkerTask } from '@app/worker';
import type deriveKey from './tasks/derive-key.task';

/** Derives a password's scrypt key in the worker pool. */
export const DERIVE_KEY_TASK = defineWorkerTask<typeof deriveKey>(
  require.resolve('./tasks/derive-key.task'),
);
