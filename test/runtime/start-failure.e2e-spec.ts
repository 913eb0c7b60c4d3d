import { FAILING_INIT_MESSAGE } from '../fixtures/failing-init.preload';
import { AppProcess, startAppProcess } from '../utils/app-process';

describe('start failure (e2e)', () => {
  let app: AppProcess | undefined;

  afterEach(async () => {
    await app?.stop('SIGKILL');
    app = undefined;
  });

  it('writes an ordinary start error to stderr before it exits 1', async () => {
    app = await startAppProcess(
      {},
      { preload: ['test/fixtures/failing-init.preload.ts'], waitUntilReady: false },
    );
    const code = await app.exited;
    expect({ code, stderr: app.stderr() }).toEqual({
      code: 1,
      stderr: expect.stringContaining(FAILING_INIT_MESSAGE),
    });
  }, 180_000);

  it('names every bad variable on stderr and exits 1', async () => {
    app = await startAppProcess(
      { PORT: '1', CACHE_TTL_S: 'soon', LOG_LEVEL: 'loud' },
      { waitUntilReady: false },
    );
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toMatch(/Invalid configuration: .*CACHE_TTL_S.*LOG_LEVEL/);
  }, 180_000);
});
