# One Dockerfile, one target per service (docker-compose.yml picks the
# target): `docker build --target admin -t refract-admin .`. Every target
# shares the build stage, so the workspace is installed and compiled once.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN npm install --global --no-fund --no-audit pnpm@10.34.8
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY packages ./packages
COPY services ./services
COPY bench ./bench
COPY tsconfig.base.json turbo.json ./
RUN pnpm install --frozen-lockfile && pnpm build && pnpm prune --prod --config.ignore-scripts=true

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node

# Applies the event-store migrations, then exits.
FROM runtime AS migrate
CMD ["node", "packages/event-store/dist/bin/migrate.js"]

FROM runtime AS write-api
EXPOSE 4000
CMD ["node", "services/write-api/dist/main.js"]

FROM runtime AS relay
EXPOSE 4010
CMD ["node", "services/relay/dist/main.js"]

FROM runtime AS projector-worker
EXPOSE 4020
# A young generation of 4 MB semi-spaces (16 by default) keeps a catching-up
# worker's peak RSS near 180 MB instead of 220, at the same rate (see the
# worker's README); keep it equal to the package's start script.
CMD ["node", "--max-semi-space-size=4", "services/projector-worker/dist/main.js"]

FROM runtime AS query-api
EXPOSE 4001
CMD ["node", "services/query-api/dist/main.js"]

FROM runtime AS admin
EXPOSE 4002
CMD ["node", "services/admin/dist/main.js"]

# The operator CLI: `docker-compose run --rm cli status`.
FROM runtime AS cli
ENTRYPOINT ["node", "packages/cli/dist/bin/refract.js"]
CMD ["--help"]
