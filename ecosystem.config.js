/**
 * PM2 alternative to loadstar's own cluster mode (`CLUSTER_WORKERS`): PM2 is the primary and
 * runs one single-process app per core. Build first (`npm run build`), then
 * `pm2 start ecosystem.config.js`. Differences from CLUSTER_WORKERS: every instance answers
 * `/metrics` for itself only (scrape each, or use CLUSTER_WORKERS for one aggregated scrape),
 * there is no warm standby, and PM2 neither starts a shared embedded PostgreSQL nor applies
 * migrations once, so DATABASE_URL is required (production refuses to start without it).
 */
module.exports = {
  apps: [
    {
      name: 'loadstar',
      script: 'dist/src/main.js',
      node_args: '--enable-source-maps',
      exec_mode: 'cluster',
      instances: 'max',
      // PM2 stops with SIGINT, which loadstar handles like SIGTERM; it must wait for the
      // shutdown delay plus the drain budget plus closing before it sends SIGKILL.
      kill_timeout: 20_000,
      // PM2's own exponential backoff for a crashing instance, from 100 ms
      exp_backoff_restart_delay: 100,
      env: {
        NODE_ENV: 'production',
        CLUSTER_WORKERS: '0',
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '10000',
        // DATABASE_URL, REDIS_URL (shared rate limits and cache) and JWT_SECRET come from the
        // environment PM2 is started in; never write secrets here.
      },
    },
  ],
};
