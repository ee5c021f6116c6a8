# One Dockerfile for every TaskFlow service; pick the service with a build argument:
#   docker build --build-arg SERVICE=identity -t taskflow-identity .
# (docker-compose.yml does this for each service.) Plain Dockerfile syntax, no BuildKit-only
# features, so the legacy builder and docker-compose v1 can build it too.

# The workspace is installed and built once, with no service named: this stage is identical for
# every image, so the builder's cache runs `npm ci` and the build once for all five (compose builds
# them one after another; the second and later reuse every layer up to here).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The whole context (see .dockerignore): npm ci needs every workspace's package.json, and the
# build compiles shared/ plus the services.
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build
# Keep only runtime dependencies. The empty per-workspace node_modules make the COPYs below
# work whether or not npm needed nested ones.
RUN npm prune --omit=dev --no-audit --no-fund \
 && for dir in shared services/*; do mkdir -p "$dir/node_modules"; done

FROM node:20-bookworm-slim AS runtime
ARG SERVICE
RUN test -n "$SERVICE" || { echo 'build with --build-arg SERVICE=<name> (a directory in services/)' >&2; exit 1; }
# Listen on every interface of the container (the services default to 127.0.0.1 outside containers).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    SERVICE=${SERVICE}
WORKDIR /app
# Files stay owned by root (read-only for the process); node_modules/@taskflow/* are workspace
# symlinks, which resolve to the shared/ and services/$SERVICE/ copied next to them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/shared/package.json ./shared/package.json
COPY --from=build /app/shared/dist ./shared/dist
COPY --from=build /app/shared/node_modules ./shared/node_modules
COPY --from=build /app/services/${SERVICE}/package.json ./services/${SERVICE}/package.json
COPY --from=build /app/services/${SERVICE}/dist ./services/${SERVICE}/dist
COPY --from=build /app/services/${SERVICE}/node_modules ./services/${SERVICE}/node_modules
RUN test -f "services/$SERVICE/dist/main.js" \
 && mkdir -p /dev-mail && chown node:node /dev-mail
# Development mail (no SMTP_URL) goes where the unprivileged user may write; compose maps it to the
# host's .dev-mail/.
ENV MAIL_OUTBOX_DIR=/dev-mail
USER node
# PORT from the environment, else the service's default port.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port = process.env.PORT || {gateway: 8080, identity: 4001, tenancy: 4002, work: 4003, audit: 4004, webhooks: 4005}[process.env.SERVICE]; require('http').get({host: '127.0.0.1', port, path: '/healthz', timeout: 3000}, (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('timeout', () => process.exit(1)).on('error', () => process.exit(1))"]
# exec: node becomes PID 1 and receives SIGTERM itself (the services drain on SIGTERM).
CMD ["sh", "-c", "exec node \"services/$SERVICE/dist/main.js\""]
