import { REDACTED } from './logging.constants';
import { createLogDestination, createRootLogger } from './logging.logger';

describe(createRootLogger.name, () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const destination = createLogDestination({
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    return { lines, logger: createRootLogger({ level: 'debug' }, destination) };
  }

  it('writes level names and the fields given', () => {
    const { lines, logger } = capture();
    logger.child({ requestId: 'r-1' }).debug({ route: '/api/users/:id' }, 'hello');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'debug',
        requestId: 'r-1',
        route: '/api/users/:id',
        msg: 'hello',
      }),
    ]);
  });

  /** The value at `path` in a parsed line. */
  function at(line: unknown, path: string[]): unknown {
    return path.reduce((value, key) => (value as Record<string, unknown>)[key], line);
  }

  it.each([
    ['a password', { password: 'hunter22' }, ['password']],
    ['a password in a body', { body: { password: 'hunter22' } }, ['body', 'password']],
    ['a token in a dto', { dto: { accessToken: 'eyJ' } }, ['dto', 'accessToken']],
    [
      'an authorization header',
      { headers: { authorization: 'Bearer x' } },
      ['headers', 'authorization'],
    ],
    ['a cookie', { req: { headers: { cookie: 'sid=1' } } }, ['req', 'headers', 'cookie']],
    ['SQL parameters of an error', { err: { parameters: ['a@b', 'h'] } }, ['err', 'parameters']],
    ['the pg client of a pool error', { err: { client: { password: 'pw' } } }, ['err', 'client']],
  ])('redacts %s', (_, fields, path) => {
    const { lines, logger } = capture();
    logger.info(fields, 'secret inside');
    expect(at(lines[0], path)).toBe(REDACTED);
  });

  it('keeps the rest of a redacted object', () => {
    const { lines, logger } = capture();
    logger.info({ body: { email: 'a@example.test', password: 'hunter22' } });
    expect(lines[0].body).toEqual({ email: 'a@example.test', password: REDACTED });
  });
});
