# syntax=docker/dockerfile:1
# The one kubeline image: `kubeline server` (the default command), the
# in-pod launcher that the init container of every compiled workflow pod
# copies into /kubeline/bin (`kubeline-launch install /kubeline/bin`), and
# `kubeline suggest` for experiments. Build: docker build -t ghcr.io/kubeline/kubeline:TAG --build-arg VERSION=TAG .

# Go as go.mod asks (go 1.26.8).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static (no cgo: SQLite is modernc.org/sqlite). The in-pod launcher
# (cmd/kubeline-launch: launch and install only) is what the init container
# copies into user images of any distribution.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/kubeline ./cmd/kubeline \
 && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/kubeline-launch ./cmd/kubeline-launch

# Python and sh: the server's embedded engine runs steps in this container
# (KFP lightweight components through the builtin executor or a venv).
FROM python:3.12-slim-bookworm
ARG VERSION=dev
LABEL org.opencontainers.image.title="kubeline" \
      org.opencontainers.image.description="kubeline server, launcher and suggest" \
      org.opencontainers.image.source="https://github.com/kubeline/kubeline" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 65532 kubeline \
 && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/kubeline --create-home --shell /usr/sbin/nologin kubeline \
 && mkdir /kubeline && chown 65532:65532 /kubeline
# /kubeline is the user's: the launcher steps that run in this image
# (importers, version lookups, experiment steps) write their outputs to
# /kubeline/out as uid 65532.
# On PATH: the compiled workflows' init container runs
# ["kubeline-launch", "install", "/kubeline/bin"], which copies the in-pod
# launcher to /kubeline/bin/kubeline. World-executable, so the copy runs
# under any user in the step's container.
COPY --from=build --chmod=0755 /out/kubeline /usr/local/bin/kubeline
COPY --from=build --chmod=0755 /out/kubeline-launch /usr/local/bin/kubeline-launch
ENV KUBELINE_HOME=/var/lib/kubeline
WORKDIR /var/lib/kubeline
USER 65532:65532
EXPOSE 8888
ENTRYPOINT ["kubeline"]
CMD ["server", "--addr", ":8888"]
