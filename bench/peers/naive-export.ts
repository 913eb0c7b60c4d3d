import Fastify from 'fastify';
import { DataSource } from 'typeorm';
import { ENTITIES } from '../../src/database/schema';
import { PostEntity } from '../../src/posts/post.entity';

/**
 * The export as it is often first written: `find()` every row, then `JSON.stringify` them
 * all into one body. Memory grows with the table; the bench measures by how much, next to
 * the app's streamed `GET /api/posts/export`.
 */
const dataSource = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  // every entity: the posts' foreign keys name the users table, which TypeORM resolves by entity
  entities: ENTITIES,
});
const app = Fastify({ logger: false });

app.get('/health', async () => ({ status: 'ok' }));

app.get('/api/posts/export', async (_request, reply) => {
  const posts = await dataSource.getRepository(PostEntity).find();
  void reply.type('application/x-ndjson');
  return posts.map((post) => JSON.stringify(post)).join('\n') + '\n';
});

dataSource
  .initialize()
  .then(() =>
    app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' }),
  )
  .catch((error: unknown) => {
    process.stderr.write(`naive-export: ${String(error)}\n`);
    process.exit(1);
  });
