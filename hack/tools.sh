#!/usr/bin/env bash
# Go-built tools the tests and the image build need (helm, crane, promtool, ...),
# built once from the Go module proxy and cached outside the repository, like
# the control plane binaries (hack/control-plane.sh).
#
#   hack/tools.sh build [NAME...]   build and cache the named tools (all when none)
#   hack/tools.sh path NAME         print the cached binary's path, building it first
#   hack/tools.sh list              print the table of tools
#
# Binaries: ${TOLLFREE_CACHE:-$HOME/.cache/tollfree-operator}/tools/NAME-VERSION
# (a new version in the table builds a new binary; old ones stay until deleted).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${TOLLFREE_CACHE:-$HOME/.cache/tollfree-operator}"
BIN="$CACHE/tools"

log() { echo "tools: $*" >&2; }
die() { log "error: $*"; exit 1; }

# One row per tool: NAME KIND SOURCE VERSION
#   KIND module: `go install SOURCE@VERSION` (a main package of a published module)
#   KIND local:  `go build` of the module in directory SOURCE of this repository
#                (VERSION names the build; bump it when the source changes)
TOOLS=(
  "helm  module helm.sh/helm/v3/cmd/helm v3.22.0"
  "crane module github.com/google/go-containerregistry/cmd/crane v0.22.1"
  "promtool module github.com/prometheus/prometheus/cmd/promtool v0.316.0"
  "kstatus local hack/tools/kstatus cli-utils-v0.37.2.1"
  "lua-health local hack/tools/lua-health gopher-lua-v1.1.1.1"
)

row() { # NAME -> the table row
  local r
  for r in "${TOOLS[@]}"; do
    if [[ "${r%% *}" == "$1" ]]; then echo "$r"; return 0; fi
  done
  return 1
}

binary() { # NAME -> path of the cached binary for the table's version
  local r name kind src ver
  r=$(row "$1") || die "unknown tool '$1' (hack/tools.sh list)"
  read -r name kind src ver <<<"$r"
  echo "$BIN/$name-$ver"
}

build_one() { # NAME
  local r name kind src ver out tmp
  r=$(row "$1") || die "unknown tool '$1' (hack/tools.sh list)"
  read -r name kind src ver <<<"$r"
  out="$BIN/$name-$ver"
  [[ -x "$out" ]] && return 0
  command -v go >/dev/null || die "go is required to build $name"
  mkdir -p "$BIN"
  exec 8>"$BIN/.$name.lock"
  flock 8
  if [[ -x "$out" ]]; then flock -u 8; return 0; fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED="${CGO_ENABLED:-0}"
  tmp=$(mktemp -d "$BIN/.$name.XXXXXX")
  log "$name: building $src@$ver (first time only)"
  case "$kind" in
    module) GOBIN="$tmp" GOFLAGS= go install -trimpath -ldflags='-s -w' "$src@$ver" \
              || { rm -rf "$tmp"; die "could not build $name from $src@$ver"; } ;;
    local)  (cd "$ROOT/$src" && GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$tmp/$name" .) \
              || { rm -rf "$tmp"; die "could not build $name from $src"; } ;;
    *) die "tool $name: unknown kind '$kind'" ;;
  esac
  mv -f "$tmp"/* "$out"
  rm -rf "$tmp"
  flock -u 8
  exec 8>&-
  log "$name: built -> $out"
}

case "${1:-}" in
  build)
    shift
    if [[ $# -eq 0 ]]; then
      for r in "${TOOLS[@]}"; do build_one "${r%% *}"; done
    else
      for t in "$@"; do build_one "$t"; done
    fi
    ;;
  path) [[ -n "${2:-}" ]] || die "usage: hack/tools.sh path NAME"; build_one "$2"; binary "$2" ;;
  list) for r in "${TOOLS[@]}"; do echo "$r"; done ;;
  *) echo "usage: hack/tools.sh build [NAME...] | path NAME | list" >&2; exit 2 ;;
esac
