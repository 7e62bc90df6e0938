#!/usr/bin/env bash
# What `make static` and `make image` need besides cargo, installed when missing.
# Idempotent: when everything is present it only checks (well under a second).
#
#   hack/setup-static.sh
#
# - the Rust target x86_64-unknown-linux-musl (rustup target add): musl links
#   statically, so the binary runs with no libc in the image;
# - a musl C compiler, x86_64-linux-musl-gcc (Debian/Ubuntu: musl-tools): the TLS
#   library (aws-lc-sys, under rustls) and ring contain C that must be compiled
#   for musl too;
# - a CA bundle at $CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt,
#   Debian/Ubuntu: ca-certificates), copied into the image so the operator can
#   verify the vendor's TLS certificate;
# - GNU tar (the image layer is written with --sort/--mtime/--owner) and python3
#   (hack/image.sh checks that the binary is static).
#
# Packages are installed with apt-get when running as root on Debian/Ubuntu;
# elsewhere the script says what is missing and exits 1.
set -euo pipefail

TARGET=x86_64-unknown-linux-musl
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { echo "setup-static: $*" >&2; }
die() { log "error: $*"; exit 1; }

missing=()

# The musl standard library for rustc.
if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx "$TARGET"; then
    log "adding the Rust target $TARGET"
    rustup target add "$TARGET" >&2 || die "rustup target add $TARGET failed"
  fi
elif [[ ! -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]]; then
  die "the Rust standard library for $TARGET is not installed (and there is no rustup to add it)"
fi

command -v x86_64-linux-musl-gcc >/dev/null || missing+=(musl-tools)
[[ -s "$CA_BUNDLE" ]] || missing+=(ca-certificates)
tar --version 2>/dev/null | grep -q 'GNU tar' || missing+=(tar)
command -v python3 >/dev/null || missing+=(python3)

if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update only if needed.
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; } \
      || die "apt-get install ${missing[*]} failed"
  else
    die "missing: ${missing[*]} (Debian/Ubuntu package names); install them and run again"
  fi
fi

command -v x86_64-linux-musl-gcc >/dev/null || die "x86_64-linux-musl-gcc is still not on PATH"
[[ -s "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE (set CA_BUNDLE to one)"
