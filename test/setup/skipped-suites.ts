import { netnsRefusal } from '../scale-out/network-hosts';

/** A group of e2e suites a run leaves out, and the sentence that tells the reader why. */
export interface SkippedSuites {
  pattern: string;
  reason: string;
}

/**
 * The e2e suites this environment leaves out. Jest's config ignores them, and the global
 * teardown names them at the end of the run with the reason, so nothing is skipped silently.
 */
export function skippedSuites(env: NodeJS.ProcessEnv): SkippedSuites[] {
  const skipped: SkippedSuites[] = [];
  if (!env.REDIS_URL) {
    skipped.push({
      pattern: '\\.redis\\.e2e-spec\\.ts$',
      reason:
        'REDIS_URL is unset, and these need a shared Redis (several app processes on one ' +
        'server). Run them with REDIS_URL=redis://<host>:<port>.',
    });
  }
  // hosts are network namespaces there; on CI's machines (root) they can always be made
  const refusal = env.REDIS_URL ? netnsRefusal() : undefined;
  if (refusal !== undefined) {
    skipped.push({
      pattern: '/test/scale-out/multi-host\\.redis\\.e2e-spec\\.ts$',
      reason:
        `the multi-host suite needs \`ip netns add\`, which was refused here (${refusal}); ` +
        'it runs as root with iproute2, as .ci/run does.',
    });
  }
  // .ci/run sets it for its server lane: these suites test the toolchain, process roles,
  // tracing, topologies or servers of their own (streaming replicas, a Redis Cluster, Redis with
  // a password or TLS) or the process itself (shutdown, hashing pool, worker threads), not the
  // storage mode, and take minutes, so its zero-config lane covers them once
  if (env.CI_SKIP_ONCE_PER_CI_SUITES === 'true') {
    skipped.push({
      pattern: [
        '/test/extending/',
        'jobs-processes\\.e2e-spec\\.ts$',
        'streaming-replicas\\.e2e-spec\\.ts$',
        'redis-cluster\\.e2e-spec\\.ts$',
        'tracing\\.e2e-spec\\.ts$',
        '/test/runtime/(graceful-shutdown|start-failure|http-hardening|redis-password|dependency-tls)\\.',
        '/test/auth/(password-hashing|registration-flood)\\.',
        'posts-import-responsiveness\\.e2e-spec\\.ts$',
        'worker-dist\\.e2e-spec\\.ts$',
      ].join('|'),
      reason: 'CI_SKIP_ONCE_PER_CI_SUITES=true: .ci/run runs these once, in its zero-config lane.',
    });
  }
  return skipped;
}
