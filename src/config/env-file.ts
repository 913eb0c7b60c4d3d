import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

// Loaded by src/tracing.ts before the tracing SDK starts: import nothing but Node's modules here
// (a library loaded this early, such as @redis/client, would never be traced).

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The process's environment over the variables of `<cwd>/.env` (when the file exists): a
 * variable set in the environment wins, as with Docker's and systemd's env files, so a
 * deployment overrides the developer's file. `.env` is listed in `.gitignore` and
 * `.dockerignore`: it stays on the machine it was written on.
 */
export function readEnvironment(cwd = process.cwd(), env: Env = process.env): Env {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, '.env'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return env;
    throw error;
  }
  return { ...parseEnv(text), ...env };
}
