# bodyvault station daemon. Build: docker build -t bodyvault .
# Node 24 (the current LTS line) on Debian 12, whose ffmpeg 5.1 is the one the media pipeline is tested with.
# Run:  docker run -p 8080:8080 -v bodyvault-data:/data -v /media:/media:ro bodyvault
# It serves HTTPS on 0.0.0.0 (bodyvault tls show prints the certificate to trust).
# (USB hotplug needs --device /dev/bus/usb or --privileged; mount discovery
# works from the bind-mounted /media alone.)
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 and usb build or load native code: toolchain for the build stage only.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY scripts/build-validators.js ./scripts/build-validators.js
COPY web ./web
# The TypeScript build, and the web front end (Vite: web/ -> web/dist, served by the daemon at /station).
RUN npx tsc -p tsconfig.json && node scripts/build-validators.js && npx vite build --config web/vite.config.ts && npm prune --omit=dev

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY docking ./docking
COPY scripts/fake-vendor-unlock ./scripts/fake-vendor-unlock
ENV BODYVAULT_DATA_DIR=/data BODYVAULT_LISTEN=0.0.0.0:8080 NODE_ENV=production
VOLUME ["/data"]
EXPOSE 8080
# 0.0.0.0 is off loopback: the daemon serves HTTPS (its station certificate; the liveness probe need not verify it).
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "require('https').get('https://127.0.0.1:8080/healthz',{rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
ENTRYPOINT ["tini", "--", "node", "bin/bodyvault.js"]
CMD ["start"]
