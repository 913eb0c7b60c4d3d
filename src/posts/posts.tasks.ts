import { defineWorkerTask } from '@app/worker';
import type parseCsvChunk from './tasks/parse-csv.task';

/** Parses and validates one chunk of an imported CSV file in the worker pool. */
export const PARSE_CSV_TASK = defineWorkerTask<typeof parseCsvChunk>(
  require.resolve('./tasks/parse-csv.task'),
);
