import { startTracing } from '@app/tracing';
import { readEnvironment } from './config/env-file';

// main.ts's first import: OpenTelemetry patches Fastify, pg and @redis/client as they are
// first required, so the SDK starts before any of them loads (docs/tracing.md). The SDK reads
// process.env, so the OTEL_* variables of a .env file are copied there first.
const env = readEnvironment();
for (const [name, value] of Object.entries(env)) {
  if (name.startsWith('OTEL_') && process.env[name] === undefined) process.env[name] = value;
}
startTracing(env);
