export { createHttpApp, createValidationPipe, requestIdFor } from './http-app.factory';
export { HttpErrorFilter } from './http-error.filter';
export { formatBoundAddress, listenHttpApp, ListeningAddresses } from './http-operations';
export { toErrorResponse, ErrorBody, ErrorResponse, RetryLaterException } from './http.errors';
export { endStalledResponse } from './http-stalled-response';
export { ParseIdPipe, parseIdList, toStrictInteger } from './parse-id.pipe';
export { MAX_ENTITY_ID, REQUEST_ID_HEADER } from './http.constants';
export {
  awaitPromotion,
  ClusterPrimary,
  ClusterPrimaryOptions,
  isClusterStandby,
  RestartBackoff,
  restartDelayMs,
} from './http-cluster';
export {
  enableGracefulShutdown,
  exitOnFatalErrors,
  GracefulShutdownOptions,
  ProcessEvents,
} from './http-shutdown';
