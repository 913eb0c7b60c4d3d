/** Name of the embedded cluster's database for the application. */
export const EMBEDDED_DATABASE_NAME = 'loadstar';

/** @default slow-query threshold in milliseconds */
export const DEFAULT_SLOW_QUERY_MS = 200;

/** The client-side query timeout exceeds the server's statement timeout by this much. */
export const QUERY_TIMEOUT_MARGIN_MS = 1_000;
