# idvmock container image: a static binary on an empty (scratch) base.
#
#   docker build -t idvmock --build-arg VERSION=1.2.3 .
#   docker run --rm -p 8080:8080 idvmock
#
# Notes for maintainers:
# - Every RUN uses the exec form, so the build stage needs no /bin/sh and a
#   shell-less stand-in for the golang image works too (scripts/docker-smoke.sh
#   makes one from the host's Go toolchain when Docker Hub is unreachable).
# - Exec-form RUN does not expand variables, so the linker flags that carry
#   VERSION reach "go build" through GOFLAGS, which ENV does expand.
# - No "# syntax=" line on purpose: it would make BuildKit pull a frontend
#   image from Docker Hub.
# - Keep the number of build-stage instructions low: with the vfs storage
#   driver (used by the smoke test) each one copies the whole Go toolchain.

FROM golang:1.26 AS build

# /out/tmp becomes the final image's /tmp (WORKDIR creates it without a shell).
WORKDIR /out/tmp
WORKDIR /src

# Module downloads get their own layer, reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN ["go", "mod", "download"]

COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0 \
    GOOS=linux \
    GOFLAGS="-buildvcs=false '-ldflags=-s -w -X main.version=${VERSION}'"
RUN ["go", "build", "-trimpath", "-o", "/out/idvmock", "./cmd/idvmock"]

FROM scratch

ARG VERSION=dev
LABEL org.opencontainers.image.title="idvmock" \
      org.opencontainers.image.description="Mock server for ADVANCE.AI's identity-verification API" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/tmp /tmp
# /ca keeps the local CA of serve --tls-addr; a volume there shares its ca.pem with clients.
COPY --from=build --chown=65532:65532 /out/tmp /ca
COPY --from=build /out/idvmock /idvmock

USER 65532:65532
ENV IDVMOCK_ADDR=:8080 \
    IDVMOCK_CA_DIR=/ca
EXPOSE 8080 8443

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/idvmock", "health"]

ENTRYPOINT ["/idvmock"]
CMD ["serve"]
