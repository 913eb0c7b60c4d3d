import Fastify from 'fastify';
import { Pool } from 'pg';
import { PUBLIC_USER_COLUMNS } from '../../src/users/users.repository';

/**
 * The database path's floor: raw Fastify 5 and a `pg` pool of the app's size (`DB_POOL_MAX`)
 * running the app's own query for `GET /api/users/:id` on every request, with no cache,
 * limiter, logs or validation. The uncached read's "≥ 0.8× raw Fastify + pg" target of issue
 * 22 is measured on this: the gap is what the ORM and Nest's pipeline cost on that path.
 */
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX),
});
const FIND_USER = `SELECT ${PUBLIC_USER_COLUMNS} FROM users u WHERE u.id = $1`;
const app = Fastify({ logger: false });

app.get<{ Params: { id: string } }>('/api/users/:id', async (request, reply) => {
  const { rows } = await pool.query(FIND_USER, [Number(request.params.id)]);
  return rows.length === 1 ? rows[0] : reply.code(404).send({ statusCode: 404 });
});

app
  .listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
  .catch((error: unknown) => {
    process.stderr.write(`raw-pg: ${String(error)}\n`);
    process.exit(1);
  });
