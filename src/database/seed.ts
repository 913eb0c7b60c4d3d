import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { SingleBar } from 'cli-progress';
import { createStandaloneDataSource } from '@app/database';
import { PasswordHasher } from '../auth/password-hasher';
import { parseEnvironment } from '../config/environment';
import { ENTITIES, MIGRATIONS } from './schema';

/** Password of every seeded user. */
export const SEED_PASSWORD = 'password123';
const BATCH_ROWS = 100_000;
/** Batches of 100 000 rows are meant to take a while: only warn past this. */
const SEED_SLOW_QUERY_MS = 30_000;

/**
 * `npm run seed -- --users N --posts M [--follows K]`: set-based inserts (generate_series),
 * one statement per batch of 100 000 rows, with a progress bar. Adds to what is there.
 */
async function seed(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000' },
      posts: { type: 'string', default: '10000' },
      follows: { type: 'string', default: '5' },
    },
  });
  const users = Number(values.users);
  const posts = Number(values.posts);
  const followsPerUser = Number(values.follows);
  if (
    ![users, posts, followsPerUser].every(Number.isInteger) ||
    users < 1 ||
    posts < 0 ||
    followsPerUser < 0
  ) {
    throw new Error('usage: npm run seed -- --users N (≥ 1) --posts M (≥ 0) [--follows K (≥ 0)]');
  }

  const logger = new Logger('Seed');
  const started = Date.now();
  const config = parseEnvironment();
  const dataSource = await createStandaloneDataSource(config.database, {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    slowQueryMs: SEED_SLOW_QUERY_MS,
  });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  await runner.query(`SET synchronous_commit = off`);
  const passwordHash = await new PasswordHasher(config.auth.passwordCostLog2).hash(SEED_PASSWORD);
  const run = Date.now().toString(36);

  const bar = new SingleBar({
    format: 'seeding [{bar}] {percentage}% | {value}/{total} rows | {eta}s left',
  });
  bar.start(users + posts + users * followsPerUser, 0);
  const [{ first }] = (await runner.query(
    `WITH inserted AS (
       INSERT INTO users (email, password_hash, name, bio)
       SELECT 'seed-' || $1 || '-' || g || '@example.test', $2, 'User ' || g, 'Seeded user number ' || g
       FROM generate_series(1, $3) AS g RETURNING id)
     SELECT min(id)::integer AS first FROM inserted`,
    [run, passwordHash, users],
  )) as { first: number }[];
  bar.increment(users);

  for (let done = 0; done < posts; done += BATCH_ROWS) {
    const count = Math.min(BATCH_ROWS, posts - done);
    await runner.query(
      `INSERT INTO posts (author_id, title, body, created_at, updated_at)
       SELECT $1 + (g % $2), 'Post ' || g, repeat('Lorem ipsum dolor sit amet. ', 1 + g % 12),
              now() - make_interval(secs => $4 - g), now() - make_interval(secs => $4 - g)
       FROM generate_series($3 + 1, $3 + $5) AS g`,
      [first, users, done, posts, count],
    );
    bar.increment(count);
  }

  for (let k = 1; k <= followsPerUser && users > 1; k++) {
    await runner.query(
      `INSERT INTO follows (follower_id, followee_id)
       SELECT $1 + g, $1 + (g + $3 * 7919) % $2 FROM generate_series(0, $2 - 1) AS g
       WHERE (g + $3 * 7919) % $2 <> g ON CONFLICT DO NOTHING`,
      [first, users, k],
    );
    bar.increment(users);
  }
  bar.stop();
  await runner.query('ANALYZE users; ANALYZE posts; ANALYZE follows');
  await runner.release();
  await dataSource.destroy();
  logger.log(
    `seeded ${users} users (ids ${first}…${first + users - 1}, password "${SEED_PASSWORD}"), ` +
      `${posts} posts, ${followsPerUser} follows per user in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

seed().then(
  () => process.exit(0),
  (error: unknown) => {
    new Logger('Seed').error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
