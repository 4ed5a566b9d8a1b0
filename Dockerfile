# syntax=docker/dockerfile:1
#
# perp-keeper's daemon image: the compiled build (dist/) on Node 20, run by a non-root user.
#   build stage:   all dependencies (TypeScript), `npm run build` → dist/ (with config/ in dist/config)
#   runtime stage: production dependencies only (`npm install --omit=dev`), dist/, bin/, config/
#
# NOT BUILT on the machine that wrote it (no access to container registries there): the stages
# mirror test/build/production-install.test.ts, which builds and runs the same production install
# without a container. See deploy/README.md.
#
#   docker build -t perp-keeper:local .
#   docker run --rm perp-keeper:local --help
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lock file cannot list every other-platform optional package (see
# .ci/run). --ignore-scripts: the dev dependencies' install scripts (the Foundry binaries the tests
# use) are not needed to compile.
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY abi ./abi
COPY config ./config
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A fixed uid/gid, so that secret files and volumes can be given to it on the host (deploy/README.md).
# /var/lib/perp-keeper holds the checkpoint and its lock: a volume mounted there starts owned by it.
RUN groupadd --system --gid 10001 keeper \
 && useradd --system --uid 10001 --gid keeper --home-dir /app --no-create-home --shell /usr/sbin/nologin keeper \
 && mkdir -p /var/lib/perp-keeper /etc/perp-keeper \
 && chown keeper:keeper /var/lib/perp-keeper
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
# The defaults as shipped, for reference (the daemon reads the same files from dist/config). Your own
# settings: mount a file elsewhere and pass --config (deploy/README.md).
COPY --from=build /src/config ./config
# bin/perp-keeper.js runs dist/ when its build stamp is newer than src/, abi/ and config/ (and warns
# otherwise): make sure the copies above are not taken for newer sources.
RUN touch dist/.build-stamp
USER keeper:keeper
# /livez, /readyz and /metrics (config/keeper.json healthPort). The daemon binds 127.0.0.1 unless
# told: pass --health-host 0.0.0.0 for other containers to reach it (docker-compose.yml does).
EXPOSE 9464
# Liveness, not readiness: /livez fails only when a tick is wedged or the keeper has stopped, which a
# restart can fix; a stale head, an unpriced market or a low balance (/readyz) are not (alerts say
# those). The healthcheck asks the container's own loopback, which 0.0.0.0 includes. Uses the
# default port: if you pass another --health-port, override the healthcheck too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/livez', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# The daemon stops on SIGTERM (docker stop): intake stops, in-flight transactions get --grace seconds
# (15 by default), the checkpoint is written. Give `docker stop` more than that (compose:
# stop_grace_period). Exit code 3: stopped with transactions possibly in flight (the next start follows them).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/perp-keeper.js"]
CMD ["run", "--deployment", "/etc/perp-keeper/deployment.json", "--checkpoint", "/var/lib/perp-keeper/checkpoint.json"]
