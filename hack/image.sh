#!/usr/bin/env bash
# The operator's container image, built without a container engine: one layer
# holding the static binary, a CA bundle and the nonroot user, assembled with
# crane (github.com/google/go-containerregistry, built by hack/tools.sh).
#
#   hack/image.sh build BINARY OUT   write the image to OUT (see below) and print its digest
#   hack/image.sh rootfs BINARY DIR  write only the image's file system to DIR
#                                    (what the Dockerfile copies into `FROM scratch`)
#
# OUT/oci/                       OCI image layout: `crane push OUT/oci REF`,
#                                `skopeo copy oci:OUT/oci docker://REF`
# OUT/tollfree-operator-VERSION.tar  docker-archive, tagged IMAGE_NAME:VERSION:
#                                `docker load -i`, `kind load image-archive`,
#                                `skopeo copy docker-archive:FILE docker://REF`
# OUT/digest                     sha256:... of the manifest (the OCI layout's,
#                                and the registry's after `crane push OUT/oci`)
#
# Reproducible: the same binary and CA bundle give the same digest (files sorted,
# owned by 0:0, mtime SOURCE_DATE_EPOCH (default 0); no timestamps in the config).
#
# Environment: IMAGE_NAME (tollfree-operator), IMAGE_SOURCE (the OCI source
# label), CA_BUNDLE (/etc/ssl/certs/ca-certificates.crt), SOURCE_DATE_EPOCH (0).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE_NAME=${IMAGE_NAME:-tollfree-operator}
IMAGE_SOURCE=${IMAGE_SOURCE:-https://github.com/tollfree-operator/tollfree-operator}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
EPOCH=${SOURCE_DATE_EPOCH:-0}
# The image's user: distroless' `nonroot`, as the chart's securityContext expects.
UID_GID=65532
BIN_PATH=/usr/local/bin/tollfree-operator
METRICS_PORT=8080

log() { echo "image: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Fails unless BINARY is a static ELF executable (no PT_INTERP program header:
# it needs no dynamic loader, hence no libc, in the image).
check_static() {
  python3 - "$1" <<'EOF' || die "$1 is not a static executable (build it with: make static)"
import struct, sys
with open(sys.argv[1], "rb") as f:
    data = f.read(1 << 16)
if data[:4] != b"\x7fELF" or data[4] != 2:
    sys.exit(1)
phoff, = struct.unpack_from("<Q", data, 0x20)
phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
for i in range(phnum):
    p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
    if p_type == 3:  # PT_INTERP
        sys.exit(1)
EOF
}

# The image's file system, in DIR (emptied first).
rootfs() { # BINARY DIR
  local binary=$1 dir=$2
  [[ -x "$binary" ]] || die "no executable at $binary (build it with: make static)"
  check_static "$binary"
  [[ -s "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE (hack/setup-static.sh installs ca-certificates)"
  rm -rf "$dir"
  install -d -m 0755 "$dir" "$dir/etc" "$dir/etc/ssl" "$dir/etc/ssl/certs" "$dir/usr" "$dir/usr/local" "$dir/usr/local/bin"
  # A mount point for an emptyDir, should one ever be needed; the root file
  # system itself can stay read-only (the operator writes no files).
  install -d -m 1777 "$dir/tmp"
  install -m 0755 "$binary" "$dir$BIN_PATH"
  # The vendor's certificate is verified against these roots (rustls reads the
  # system bundle); the API server's CA comes from the ServiceAccount.
  install -m 0644 "$CA_BUNDLE" "$dir/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' "$UID_GID" "$UID_GID" >"$dir/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$UID_GID" >"$dir/etc/group"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
}

build() { # BINARY OUT
  local binary=$1 out=$2 crane version work reg_log port ref digest
  crane=$("$ROOT/hack/tools.sh" path crane)
  work=$(mktemp -d "${TMPDIR:-/tmp}/tollfree-image.XXXXXX")
  WORK=$work
  trap 'if [[ -n "${REG_PID:-}" ]]; then kill "$REG_PID" 2>/dev/null || true; fi; rm -rf "${WORK:-}"' EXIT

  rootfs "$binary" "$work/rootfs"
  # The version label and tag are the binary's own (`tollfree-operator 0.1.0`).
  version=$("$binary" --version | awk '{print $2}')
  [[ -n "$version" ]] || die "$binary --version printed no version"

  tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$work/rootfs" -cf "$work/layer.tar" .

  # crane edits image configs only in a registry: a private in-memory one on
  # loopback, for the duration of this build.
  reg_log="$work/registry.log"
  "$crane" registry serve --address 127.0.0.1:0 >"$reg_log" 2>&1 &
  REG_PID=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$reg_log" | head -n1)
    [[ -n "$port" ]] && break
    kill -0 "$REG_PID" 2>/dev/null || die "crane registry serve exited: $(cat "$reg_log")"
    sleep 0.1
  done
  [[ -n "$port" ]] || die "crane registry serve did not start: $(cat "$reg_log")"
  ref="127.0.0.1:$port/$IMAGE_NAME"

  "$crane" --insecure append --oci-empty-base -f "$work/layer.tar" -t "$ref:layer" >/dev/null 2>"$work/append.log" \
    || die "crane append failed: $(cat "$work/append.log")"
  local config=(
    --entrypoint "$BIN_PATH"
    --cmd run
    --user "$UID_GID:$UID_GID"
    --workdir /
    --exposed-ports "$METRICS_PORT/tcp"
    --set-platform linux/amd64
    -e PATH=/usr/local/bin
    -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
    -l "org.opencontainers.image.title=tollfree-operator"
    -l "org.opencontainers.image.description=Kubernetes operator for IntelePeer toll-free numbers"
    -l "org.opencontainers.image.source=$IMAGE_SOURCE"
    -l "org.opencontainers.image.version=$version"
    -l "org.opencontainers.image.licenses=Apache-2.0"
  )
  "$crane" --insecure mutate "$ref:layer" "${config[@]}" -t "$ref:$version" >/dev/null 2>"$work/mutate.log" \
    || die "crane mutate failed: $(cat "$work/mutate.log")"

  mkdir -p "$out"
  rm -rf "$out/oci" "$out/$IMAGE_NAME-$version.tar"
  "$crane" --insecure pull --format=oci "$ref:$version" "$out/oci" 2>"$work/pull.log" \
    || die "crane pull failed: $(cat "$work/pull.log")"
  # The same image again, as a docker-archive tagged for `docker load`.
  "$crane" --insecure mutate "$ref:layer" "${config[@]}" -t "$IMAGE_NAME:$version" \
    -o "$out/$IMAGE_NAME-$version.tar" 2>"$work/save.log" \
    || die "crane mutate -o failed: $(cat "$work/save.log")"
  digest=$("$crane" --insecure digest "$ref:$version")
  echo "$digest" >"$out/digest"
  log "$IMAGE_NAME:$version $digest"
  log "  $out/oci (OCI layout), $out/$IMAGE_NAME-$version.tar (docker-archive)"
  echo "$digest"
}

case "${1:-}" in
  build)  [[ $# -eq 3 ]] || die "usage: $0 build BINARY OUT"; build "$2" "$3" ;;
  rootfs) [[ $# -eq 3 ]] || die "usage: $0 rootfs BINARY DIR"; rootfs "$2" "$3" ;;
  *) echo "usage: $0 build BINARY OUT | rootfs BINARY DIR" >&2; exit 2 ;;
esac
