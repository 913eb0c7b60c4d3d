import { rm } from 'node:fs/promises';

export default async function globalTeardown(): Promise<void> {
  const embedded = globalThis.embeddedPostgresForTests;
  if (!embedded) return;
  await embedded.stop();
  await rm(embedded.dataDirectory, { recursive: true, force: true });
}
