import { STATUS_CODES } from 'node:http';

/**
 * Marks of internals that must never reach a client: stack frames, driver error names, stored
 * password hashes. (Column names are not among them: a 404 rightly echoes the path asked for,
 * injection strings included.)
 */
const LEAK_PATTERNS = [
  /\bat \S+ \(.*:\d+:\d+\)/,
  /node_modules/,
  /QueryFailedError|TypeORMError|DatabaseError/,
  /scrypt\$\d/,
];

/**
 * Why a response is not an error in the contract's shape (`{statusCode, error, message,
 * requestId}`, status and request id matching the response's), or `undefined` when it is.
 */
export function errorShapeProblem(
  status: number,
  headers: Record<string, string | string[] | undefined> | Headers,
  text: string,
): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return `status ${status} with a body that is not an object: ${text.slice(0, 200)}`;
  }
  const { statusCode, error, message, requestId } = body as Record<string, unknown>;
  const keys = Object.keys(body).sort().join(',');
  const requestIdHeader =
    headers instanceof Headers ? headers.get('x-request-id') : headers['x-request-id'];
  if (keys !== 'error,message,requestId,statusCode') return `unexpected keys ${keys} in ${text}`;
  if (statusCode !== status) return `statusCode ${String(statusCode)} on a ${status} response`;
  if (error !== STATUS_CODES[status]) return `error ${String(error)} on a ${status} response`;
  if (typeof message !== 'string') return `message is not a string in ${text}`;
  if (typeof requestId !== 'string' || requestId === '' || requestId !== requestIdHeader) {
    return `requestId ${String(requestId)} differs from x-request-id ${String(requestIdHeader)}`;
  }
  const leak = LEAK_PATTERNS.find((pattern) => pattern.test(text));
  return leak ? `internals leaked (${String(leak)}): ${text.slice(0, 300)}` : undefined;
}
