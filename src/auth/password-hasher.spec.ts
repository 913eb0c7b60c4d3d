import type { WorkerService } from '@app/worker';
import { PasswordHasher } from './password-hasher';

/** A pool whose first `failures` tasks fail as a task timeout does on a busy machine. */
function failingPool(failures: number): WorkerService {
  let calls = 0;
  const fallback = new PasswordHasher(1);
  return {
    threads: 1,
    run: async (_task: unknown, input: { password: string }) => {
      if (calls++ < failures) throw new Error('The derive-key task did not finish in time');
      const stored = await fallback.hash(input.password);
      return Buffer.from(stored.split('$')[5], 'base64url');
    },
  } as unknown as WorkerService;
}

describe(PasswordHasher.name, () => {
  describe('#verifyDecoy', () => {
    it('a decoy that fails at start is no unhandled rejection, and is made again at its next use', async () => {
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', record);
      try {
        const hasher = new PasswordHasher(1, failingPool(1));
        await new Promise((resolve) => setImmediate(resolve));
        await expect(hasher.verifyDecoy('any password')).resolves.toBe(false);
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', record);
      }
    });
  });
});
