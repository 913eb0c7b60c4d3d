/**
 * PM2 alternative to loadstar's own cluster mode (`CLUSTER_WORKERS`): PM2 is the primary and
 * runs one single-process app per CPU. Build first (`npm run build`), then
 * `pm2 start ecosystem.config.js`. Differences from CLUSTER_WORKERS: every instance answers
 * `/metrics` for itself only (scrape each, or use CLUSTER_WORKERS for one aggregated scrape),
 * there is no warm standby, and PM2 neither starts a shared embedded PostgreSQL nor applies
 * migrations once, so DATABASE_URL is required (production refuses to start without it).
 *
 * Sizing: one instance per CPU of the machine or container (its cgroup quota, which PM2's own
 * `instances: 'max'` does not see), and each instance told it is one of that many
 * (PROCESS_INSTANCES), so it sizes its database pool and worker threads for its share:
 * 16 CPUs give 16 instances of 3 connections (+ 1 for health checks) each, 64 in all.
 */
let readContainerResources;
try {
  ({ readContainerResources } = require('./dist/src/config/container-resources'));
} catch (error) {
  throw new Error(`ecosystem.config.js needs the built app: run npm run build first (${error})`);
}

const instances = readContainerResources().cpus;

module.exports = {
  apps: [
    {
      name: 'loadstar',
      script: 'dist/src/main.js',
      node_args: '--enable-source-maps',
      exec_mode: 'cluster',
      instances,
      // PM2 stops with SIGINT, which loadstar handles like SIGTERM; it must wait for the
      // shutdown delay plus the drain budget plus closing before it sends SIGKILL.
      kill_timeout: 20_000,
      // PM2's own exponential backoff for a crashing instance, from 100 ms
      exp_backoff_restart_delay: 100,
      env: {
        NODE_ENV: 'production',
        CLUSTER_WORKERS: '0',
        PROCESS_INSTANCES: String(instances),
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '10000',
        // DATABASE_URL, REDIS_URL (shared rate limits and cache) and JWT_SECRET come from the
        // environment PM2 is started in; never write secrets here.
      },
    },
  ],
};
