import { EventEmitter } from 'node:events';
import { INestApplication, Logger } from '@nestjs/common';
import { enableGracefulShutdown, exitOnFatalErrors, ProcessEvents } from './http-shutdown';

/** A process stand-in: signals and errors are emitted by the test, `exit` is recorded. */
function fakeProcess() {
  const events = new EventEmitter();
  const exit = jest.fn<never, [number?]>();
  let stderr = '';
  const target = {
    on: events.on.bind(events),
    exit,
    stderr: { write: (text: string) => (stderr += text) },
  } as unknown as ProcessEvents;
  return { events, exit, target, stderr: () => stderr };
}

/** Resolves once `exit` has been called. */
function exited(exit: jest.Mock): Promise<number> {
  return new Promise((resolve) => {
    exit.mockImplementation((code: number) => resolve(code));
  });
}

function fakeApp(close: () => Promise<void>) {
  const server = Object.assign(new EventEmitter(), { closeAllConnections: jest.fn() });
  const app = { close: jest.fn(close), getHttpServer: () => server };
  return { app: app as unknown as INestApplication & typeof app, server };
}

describe('enableGracefulShutdown', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('marks the start first, then closes the app, then exits 0', async () => {
    const { events, exit, target } = fakeProcess();
    const steps: string[] = [];
    const { app } = fakeApp(async () => void steps.push('close'));
    enableGracefulShutdown(
      app,
      { timeoutMs: 1_000, onShutdownStart: () => steps.push('not ready') },
      target,
    );
    const code = exited(exit);

    events.emit('SIGTERM', 'SIGTERM');

    expect(await code).toBe(0);
    expect(steps).toEqual(['not ready', 'close']);
  });

  it('ignores a second signal while shutting down', async () => {
    const { events, exit, target } = fakeProcess();
    const { app } = fakeApp(() => new Promise((resolve) => setTimeout(resolve, 20)));
    enableGracefulShutdown(app, { timeoutMs: 1_000 }, target);
    const code = exited(exit);

    events.emit('SIGTERM', 'SIGTERM');
    events.emit('SIGINT', 'SIGINT');

    expect(await code).toBe(0);
    expect(app.close).toHaveBeenCalledTimes(1);
  });

  it('ends each connection with its next response once shutdown has begun', async () => {
    const { events, exit, target } = fakeProcess();
    const { app, server } = fakeApp(() => new Promise((resolve) => setTimeout(resolve, 20)));
    enableGracefulShutdown(app, { timeoutMs: 1_000 }, target);
    const code = exited(exit);
    const before = { setHeader: jest.fn() };
    server.emit('request', {}, before);

    events.emit('SIGTERM', 'SIGTERM');
    const during = { setHeader: jest.fn() };
    server.emit('request', {}, during);

    expect(before.setHeader).not.toHaveBeenCalled();
    expect(during.setHeader).toHaveBeenCalledWith('connection', 'close');
    expect(await code).toBe(0);
  });

  it('cuts the connections still open after the drain budget', async () => {
    const { events, exit, target } = fakeProcess();
    let finishClose!: () => void;
    const { app, server } = fakeApp(() => new Promise((resolve) => (finishClose = resolve)));
    server.closeAllConnections.mockImplementation(() => finishClose());
    enableGracefulShutdown(app, { timeoutMs: 10 }, target);
    const code = exited(exit);

    events.emit('SIGTERM', 'SIGTERM');

    expect(await code).toBe(0);
    expect(server.closeAllConnections).toHaveBeenCalledTimes(1);
  });

  it('exits 1 when closing fails', async () => {
    const { events, exit, target } = fakeProcess();
    const { app } = fakeApp(() => Promise.reject(new Error('pool would not close')));
    enableGracefulShutdown(app, { timeoutMs: 1_000 }, target);
    const code = exited(exit);

    events.emit('SIGTERM', 'SIGTERM');

    expect(await code).toBe(1);
  });
});

describe('exitOnFatalErrors', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it.each(['uncaughtException', 'unhandledRejection'])(
    'exits 1 on %s, saying why on stderr',
    (event) => {
      const { events, exit, target, stderr } = fakeProcess();
      exitOnFatalErrors(target);

      events.emit(event, new Error('boom'));

      expect(exit).toHaveBeenCalledWith(1);
      expect(stderr()).toMatch(/exiting so that the process is restarted: Error: boom/);
    },
  );
});
