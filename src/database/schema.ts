import { FollowEntity } from '../follows/follow.entity';
import { PostImportQuotaEntity } from '../posts/post-import-quota.entity';
import { PostEntity } from '../posts/post.entity';
import { UserEntity } from '../users/user.entity';
import { InitialSchema1763888400000 } from './migrations/1763888400000-initial-schema';
import { PostImportQuotas1796601600000 } from './migrations/1796601600000-post-import-quotas';
import { Jobs1796688000000 } from './migrations/1796688000000-jobs';
import { IdempotencyKeys1797000000000 } from './migrations/1797000000000-idempotency-keys';
import { JobTraceContext1797100000000 } from './migrations/1797100000000-job-trace-context';

/** Every entity of the domain, for the app's and the CLI's data source alike. */
export const ENTITIES = [UserEntity, PostEntity, FollowEntity, PostImportQuotaEntity];

/** Every migration, in order. Listed explicitly so that `dist/`, ts-node and Jest agree. */
export const MIGRATIONS = [
  InitialSchema1763888400000,
  PostImportQuotas1796601600000,
  Jobs1796688000000,
  IdempotencyKeys1797000000000,
  JobTraceContext1797100000000,
];
