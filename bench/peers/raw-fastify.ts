import Fastify from 'fastify';

/**
 * The ceiling: raw Fastify 5 answering `GET /api/users/:id` with the same user JSON the app
 * serves (`BENCH_BODY`), held in memory and serialized per request as a plain handler does.
 */
const user = JSON.parse(process.env.BENCH_BODY ?? '{}') as Record<string, unknown>;
const app = Fastify({ logger: false });

app.get('/api/users/:id', async () => user);

app
  .listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
  .catch((error: unknown) => {
    process.stderr.write(`raw-fastify: ${String(error)}\n`);
    process.exit(1);
  });
