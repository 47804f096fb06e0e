# blockscope: one image for every role (orchestrator, device worker, CLI), chosen by the command.
#   docker build -t blockscope .
#   docker run --rm blockscope --help
# Build arguments:
#   ONNXRUNTIME_NODE_INSTALL  "skip" (default: the CPU runtime bundled in onnxruntime-node is all a CPU worker
#                             needs); a GPU host runs its worker natively instead (docs/architecture.md).
#   EXTRA_APT_PACKAGES        Debian packages a device worker needs, e.g. "adb" for a phone host.
FROM node:20.20.2-bookworm-slim

ARG ONNXRUNTIME_NODE_INSTALL=skip
ARG EXTRA_APT_PACKAGES=""

RUN if [ -n "$EXTRA_APT_PACKAGES" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $EXTRA_APT_PACKAGES && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
# Dependencies first, so source edits do not invalidate the npm layer. No dev dependencies: bin/blockscope.mjs
# runs the TypeScript through tsx, a runtime dependency.
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL="$ONNXRUNTIME_NODE_INSTALL" npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY cli ./cli
COPY workers ./workers
COPY workflows ./workflows
COPY activities ./activities
COPY pipelines ./pipelines
COPY presets ./presets
COPY tsconfig.json ./

# The image's files stay root-owned and read-only to the worker; it writes only to /tmp (tsx's cache,
# exported models) and to the artifact store (S3, or a volume mounted at /data for fs://).
RUN mkdir -p /data && chown node:node /data
USER node
ENV NODE_ENV=production \
    TEMPORAL_ADDRESS=temporal:7233 \
    TEMPORAL_NAMESPACE=default

ENTRYPOINT ["node", "bin/blockscope.mjs"]
CMD ["--help"]
