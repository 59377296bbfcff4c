# One Dockerfile, one target per service (docker-compose.yml picks the
# target): `docker build --target admin -t refract-admin .`.
#
# Every target shares the build stage: the workspace is installed and
# compiled once, then `pnpm deploy --prod` writes each service's runtime tree
# to /deploy/<name>, outside the workspace (so nothing resolves from the
# workspace's node_modules): its package (what its `files` ship), its
# production dependencies, and the workspace packages it uses copied in (no
# link points out of the tree). A target copies only its own tree, so no
# bench, dev stack, embedded Postgres, tsx or compiler reaches a runtime
# image.
#
# These images run the examples' application module built to JavaScript
# (examples/all, REFRACT_CONFIG below), which is what docker-compose.yml's
# stack is for. An image of your own application copies your built module
# instead: see docs/deploy.md.
#
# No Docker engine runs on the project's machines: deploy/images.e2e.test.ts
# replays the build stage's COPY, ENV and RUN lines in a temporary folder and
# starts every target's CMD (and HEALTHCHECK) from the trees it deployed, so
# the build stage is kept to those instructions, each RUN one shell command
# line run from WORKDIR, writing nowhere but under it and, by relative
# paths, /deploy.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN npm install --global --no-fund --no-audit pnpm@10.34.8
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY packages ./packages
COPY services ./services
COPY examples ./examples
COPY tsconfig.base.json turbo.json ./
# Without git, turbo finds each package's files by walking its folder, and
# only .gitignore keeps it out of node_modules (whose workspace links loop).
COPY .gitignore ./
# Without a TTY, pnpm aborts rather than ask before it replaces a modules folder.
ENV CI=true
RUN pnpm install --frozen-lockfile
RUN pnpm build
# pnpm 10 deploys only injected workspace packages (copies, not links). Set
# for the deploys alone: the workspace itself keeps linking its packages.
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/event-store deploy ../deploy/migrate
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/write-api deploy ../deploy/write-api
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/relay-service deploy ../deploy/relay
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/projector-worker deploy ../deploy/projector-worker
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/query-api deploy ../deploy/query-api
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/admin deploy ../deploy/admin
# --no-optional: the dev stack (embedded Postgres, tsx) is the CLI's optional dependency.
RUN pnpm --config.inject-workspace-packages=true --prod --no-optional --filter @refract/cli deploy ../deploy/cli
RUN pnpm --config.inject-workspace-packages=true --prod --filter @refract/examples deploy ../deploy/examples

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The examples' application module and its own dependencies, outside /app.
COPY --from=build /deploy/examples /examples
ENV REFRACT_CONFIG=/examples/dist/index.js
WORKDIR /app
USER node

# Applies the event-store migrations, then exits.
FROM runtime AS migrate
COPY --from=build /deploy/migrate /app
CMD ["node", "dist/bin/migrate.js"]

# Each service's HEALTHCHECK asks its /readyz (dependencies reachable) on
# the port its environment sets, with node's fetch: slim images have no curl.
FROM runtime AS write-api
COPY --from=build /deploy/write-api /app
EXPOSE 4000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WRITE_API_PORT || 4000}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

FROM runtime AS relay
COPY --from=build /deploy/relay /app
EXPOSE 4010
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.RELAY_PORT || 4010}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

FROM runtime AS projector-worker
COPY --from=build /deploy/projector-worker /app
EXPOSE 4020
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WORKER_PORT || 4020}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A young generation of 4 MB semi-spaces (16 by default) keeps a catching-up
# worker's peak RSS near 180 MB instead of 220, at the same rate (see the
# worker's README); keep it equal to the package's start script.
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]

FROM runtime AS query-api
COPY --from=build /deploy/query-api /app
EXPOSE 4001
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.QUERY_API_PORT || 4001}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

FROM runtime AS admin
COPY --from=build /deploy/admin /app
EXPOSE 4002
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.ADMIN_PORT || 4002}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

# The operator CLI: `docker-compose run --rm cli status`.
FROM runtime AS cli
COPY --from=build /deploy/cli /app
ENTRYPOINT ["node", "bin/refract.js"]
CMD ["--help"]
