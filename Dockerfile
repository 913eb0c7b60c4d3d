# syntax=docker/dockerfile:1
# loadstar's production image: `docker build -t loadstar .`, then run it with DATABASE_URL,
# JWT_SECRET and (several replicas) REDIS_URL; see docker-compose.yml and deploy/k8s/.
ARG NODE_IMAGE=node:20-bookworm-slim

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

# Production dependencies only. --omit=optional leaves out the embedded PostgreSQL binaries
# (60 MB; NODE_ENV=production refuses the embedded database) and other platform extras.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts \
  && npm cache clean --force

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
# liveness only: readiness (/health/ready) depends on the database and belongs to the orchestrator
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 receives SIGTERM directly and the app handles it (graceful shutdown, exit 0)
CMD ["node", "--enable-source-maps", "dist/src/main"]
