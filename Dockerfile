# syntax=docker/dockerfile:1
#
# The same image as `make image` (hack/image.sh), for people who have a
# container engine: the static (musl) binary, a CA bundle and the nonroot user
# (65532) on an empty base, entrypoint tollfree-operator.
#
#   docker build --build-arg VERSION=0.1.0 -t tollfree-operator:0.1.0 .
#
# `make image` needs no engine and is what the tests check (tests/image.rs,
# which also checks that this file's final stage says the same: user,
# entrypoint, command, environment, labels). Engine builds add their own
# timestamps and history, so their digests differ from make image's.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# hack/setup-static.sh: the musl target, musl-tools (a C compiler for aws-lc-sys
# and ring on musl), ca-certificates.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    hack/setup-static.sh \
 && cargo build --release --locked --target x86_64-unknown-linux-musl --bin tollfree-operator \
 && hack/image.sh rootfs target/x86_64-unknown-linux-musl/release/tollfree-operator /out/rootfs

FROM scratch
ARG VERSION=0.1.0
COPY --from=build /out/rootfs/ /
ENV PATH=/usr/local/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.opencontainers.image.title="tollfree-operator"
LABEL org.opencontainers.image.description="Kubernetes operator for IntelePeer toll-free numbers"
LABEL org.opencontainers.image.source="https://github.com/tollfree-operator/tollfree-operator"
LABEL org.opencontainers.image.version="${VERSION}"
LABEL org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
WORKDIR /
EXPOSE 8080/tcp
ENTRYPOINT ["/usr/local/bin/tollfree-operator"]
CMD ["run"]
