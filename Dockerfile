# The scw-backup CLI as a container image: what BackupSchedule's Serverless Jobs run
# (provider/components/backup-schedule.ts). Serverless Jobs runs linux/amd64 images only:
#   docker build --platform linux/amd64 -t rg.fr-par.scw.cloud/NAMESPACE/scw-backup:TAG .

# Stage 1: compile the native addons and dist/, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
# node-gyp builds native/ (the package's install script) and zstd-napi when no prebuilt
# binary fits: it needs python3, make and a C/C++ compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# Full install: the install script builds native/build/Release/*.node, zstd-napi builds
# its binding, and prepare runs tsc (a dev dependency) into dist/.
RUN npm ci
# Prune in place rather than a second install: the compiled bindings stay, nothing is rebuilt
# (--ignore-scripts: the build tools are about to go).
RUN npm prune --omit=dev --ignore-scripts

# Stage 2: Node and what the CLI loads at run time; no compiler, no dev dependencies.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the user that runs: the code cannot be changed by what it runs.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/native/build/Release/*.node ./native/build/Release/
# `scw-backup` on PATH: the job definitions run it by name.
RUN ln -s /app/bin/scw-backup.js /usr/local/bin/scw-backup
# The node images' unprivileged user (uid 1000).
USER node
ENTRYPOINT ["node", "/app/bin/scw-backup.js"]
CMD ["--help"]
