/** Injection token of the application's root pino logger. */
export const ROOT_LOGGER = Symbol('loadstar:logging:root-logger');

/** Replaces every redacted value. */
export const REDACTED = '[redacted]';

const SECRET_KEYS = [
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'jwtSecret',
];
/** Objects that commonly carry a client's input or credentials when someone logs them. */
const SECRET_HOLDERS = ['body', 'input', 'dto', 'data', 'credentials', 'user', 'req.body'];
const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key'];

/**
 * Values never written to the log. Exact paths only: pino's wildcard paths (`*.password`)
 * cost 20–80 µs per line here, every line, which the access log cannot afford; exact ones
 * cost next to nothing. SQL parameters are included because they carry whatever a user sent.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_HOLDERS.flatMap((holder) => SECRET_KEYS.map((key) => `${holder}.${key}`)),
  ...['headers', 'req.headers', 'res.headers'].flatMap((holder) =>
    SECRET_HEADERS.map((header) => `${holder}["${header}"]`),
  ),
  'parameters',
  'err.parameters',
  // pg-pool attaches the whole client (connection settings included) to an idle client's error
  'err.client',
  'query.parameters',
  'auth.jwtSecret',
  'config.auth.jwtSecret',
];

/** @see LoggingModuleOptions.quietRoutes */
export const DEFAULT_QUIET_ROUTES: readonly string[] = ['/health', '/metrics', '/docs'];

export const DEFAULT_SLOW_REQUEST_MS = 500;
/** Level of the root logger when none is given. */
export const DEFAULT_LOG_LEVEL = 'info';

/** Injection token of the stream the root logger writes to. */
export const LOG_DESTINATION = Symbol('loadstar:logging:destination');
