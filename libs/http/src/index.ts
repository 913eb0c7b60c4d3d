export * from './interfaces';
export { createHttpApp, createValidationPipe, requestIdFor } from './http-app.factory';
export { HttpErrorFilter } from './http-error.filter';
export { formatBoundAddress, listenHttpApp, type ListeningAddresses } from './http-operations';
export {
  toErrorResponse,
  type ErrorBody,
  type ErrorResponse,
  RetryLaterException,
} from './http.errors';
export { endStalledResponse } from './http-stalled-response';
export { type EncodedForms, reuseEncodedForms } from './http-compression';
export { ParseIdPipe, parseIdList, toStrictInteger } from './parse-id.pipe';
export { MAX_ENTITY_ID, REQUEST_ID_HEADER } from './http.constants';
export {
  awaitPromotion,
  ClusterPrimary,
  type ClusterPrimaryOptions,
  isClusterStandby,
  type RestartBackoff,
  restartDelayMs,
} from './http-cluster';
export {
  enableGracefulShutdown,
  exitOnFatalErrors,
  type GracefulShutdownOptions,
  type ProcessEvents,
  writeError,
} from './http-shutdown';
