import { ConflictException } from '@nestjs/common';
import { IdempotencyRepository, StoredResponse } from './idempotency.repository';
import { IdempotencyService, KeyedRequest } from './idempotency.service';

const request: KeyedRequest = {
  scope: '7',
  key: 'k',
  fingerprint: 'f',
  readFingerprint: () => Promise.resolve('f'),
};
const response: StoredResponse = { status: 201, headers: {}, body: { id: 1 } };

/** A repository whose `complete` answers whether the key was still the caller's. */
function serviceWhereKeyHeld(held: boolean): IdempotencyService {
  const repository = { complete: jest.fn().mockResolvedValue(held) };
  return new IdempotencyService(repository as unknown as IdempotencyRepository, {
    scope: () => undefined,
  });
}

describe(IdempotencyService.name, () => {
  describe('#completeWithWrite', () => {
    it('stores the response while the request still holds its key', async () => {
      await expect(
        serviceWhereKeyHeld(true).completeWithWrite(request, 'token', 'f', response),
      ).resolves.toBeUndefined();
    });

    it('throws a 409 once a retry took the key over, so the write rolls back', async () => {
      await expect(
        serviceWhereKeyHeld(false).completeWithWrite(request, 'token', 'f', response),
      ).rejects.toBeInstanceOf(ConflictException);
    });
  });
});
