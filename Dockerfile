# syntax=docker/dockerfile:1
#
# tollfree-operator: a static (musl) binary on distroless/static, running as
# uid 65532 (the image's `nonroot` user), as deploy/deployment.yaml expects.
#
#   docker build -t tollfree-operator:0.1.0 .
#
# NOTE: this file has not been built in this repository's CI or dev machines —
# they have no container engine. The tests run the operator binary directly
# (tests/support) and validate deploy/ against a real API server (tests/deploy.rs).

FROM rust:1-bookworm AS build
# musl-tools: the C compiler for aws-lc-sys (TLS) on the musl target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools cmake \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-musl --bin tollfree-operator \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/tollfree-operator /out/tollfree-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tollfree-operator /usr/local/bin/tollfree-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tollfree-operator"]
CMD ["run", "--leader-elect"]
