# syntax=docker/dockerfile:1
# loadstar's production image: `docker build -t loadstar .`, then run it with DATABASE_URL,
# JWT_SECRET and (several replicas) REDIS_URL; see docker-compose.yml and deploy/k8s/.
#
# Node 24 (LTS; Node 20 reached its end of life on 2026-04-30) on Debian 13, pinned by the
# digest of the multi-platform image `node:24-trixie-slim` as built on 2026-09-19 (Node 24.21.0),
# so a rebuild gets the same base. To move it on: `docker buildx imagetools inspect
# node:24-trixie-slim` prints the current digest ("Digest:" line); put it here.
ARG NODE_IMAGE=node:24-trixie-slim@sha256:8ec5d7557396cfe32d21c3f9c13072355ceab22b584578ca4bb28af31120cffe

# Compiles TypeScript with every dependency; also the image of the one-off migration job
# (`npm run migration:run` needs ts-node, a development dependency).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The only install scripts in the tree are the embedded PostgreSQL's (not used with
# DATABASE_URL, which production requires) and @scarf/scarf's usage analytics (denied by
# allowScripts): skipping scripts gives npm 11's result with the image's npm 10 as well.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY nest-cli.json tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY libs ./libs
COPY src ./src
RUN npm run build

# Production dependencies only. --omit=optional leaves out the embedded PostgreSQL's binaries
# (60 MB; NODE_ENV=production refuses the embedded database) and the optional peers that
# --omit=dev alone would keep (typescript, ts-node, Express: 30 MB the app never loads), but
# also @napi-rs/nice, piscina's optional dependency that runs the worker threads below the
# event loop's priority: that one comes from the build stage's full install (same lockfile,
# same platform).
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts \
  && npm cache clean --force
COPY --from=build /app/node_modules/@napi-rs ./node_modules/@napi-rs

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# owned by root and read-only to the app's user: the process cannot rewrite its own code
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# liveness only: readiness (/health/ready) depends on the database and belongs to the
# orchestrator. bash's /dev/tcp instead of a Node process every 10 s: one HTTP/1.0 request,
# healthy on a 200 status line. On OPS_PORT when set (the public port then answers 404).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${OPS_PORT:-${PORT}} && printf 'GET /health/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 2 status <&3 && [[ $status == 'HTTP/1.1 200 '* ]]"]
# node as PID 1 receives SIGTERM directly and the app handles it (graceful shutdown, exit 0)
CMD ["node", "--enable-source-maps", "dist/src/main"]
