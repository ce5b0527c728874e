# syntax=docker/dockerfile:1
# Production image: compiled JavaScript, production dependencies only, non-root, health-checked.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY service ./service
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    UPLOADS_DIR=/var/lib/fpc/uploads \
    DATA_DIR=/var/lib/fpc/data \
    KEYS_DIR=/run/secrets/fpc-keys
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies stay: they carry @napi-rs/canvas's prebuilt Skia for this platform (glibc
# here; a musl build exists too), which draws the officer's PDF previews. No compiler needed.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
# The pages' stylesheet and scripts, served by the app itself.
COPY service/web/assets ./service/web/assets
RUN mkdir -p /var/lib/fpc/uploads /var/lib/fpc/data && chown -R node:node /var/lib/fpc
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/service/server.js"]
