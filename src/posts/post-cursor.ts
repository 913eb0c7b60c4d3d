import { BadRequestException } from '@nestjs/common';

const CURSOR_PREFIX = 'p1:';

/** Opaque keyset cursor for "posts older than id". */
export function encodePostCursor(lastId: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${lastId}`).toString('base64url');
}

/** @throws BadRequestException for anything {@link encodePostCursor} did not make. */
export function decodePostCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^p1:([1-9]\d{0,9})$/.exec(text);
  if (!match || Buffer.from(text).toString('base64url') !== cursor) {
    throw new BadRequestException('cursor is malformed');
  }
  return Number(match[1]);
}
