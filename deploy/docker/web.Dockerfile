# syntax=docker/dockerfile:1
#
# nginx with the web client: the one entry point of a deployment (the web client at /,
# REST under /api, the WebSocket at /ws), with the rules of deploy/nginx/nginx.conf.template
# rendered for the target and mounted as /etc/nginx/chat/nginx.conf.
#
#   docker build -f deploy/docker/web.Dockerfile -t chat-web:local .
#
# The client's types come from the protocol crate's generated TypeScript
# (services/protocol/generated), so the build context is the repository.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG NGINX_IMAGE=nginx:1.28-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY services/protocol/generated/ services/protocol/generated/
COPY web/package.json web/package-lock.json web/
RUN npm ci --prefix web --no-audit --no-fund
COPY web/ web/
RUN npm run --prefix web build

FROM ${NGINX_IMAGE} AS runtime
LABEL org.opencontainers.image.title="chat-web" \
      org.opencontainers.image.description="nginx in front of the chat gateways, serving the web client" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/web/dist/ /usr/share/chat-web/
USER 10001:10001
EXPOSE 8080
