#!/usr/bin/env bash
# Prints the paths of the Prometheus Operator's ServiceMonitor and PrometheusRule
# CRDs, taken from its Go module (downloaded once through the Go module proxy
# into Go's module cache), so tests can check the chart's optional monitoring
# objects against the real schemas.
#
#   hack/monitoring-crds.sh        one path per line
set -euo pipefail
MODULE=github.com/prometheus-operator/prometheus-operator
VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
command -v go >/dev/null || { echo "monitoring-crds: go is required" >&2; exit 1; }
# Outside any module, so that go.mod files around the caller do not matter.
dir=$(cd "${TMPDIR:-/tmp}" && GOFLAGS= GOTOOLCHAIN=${GOTOOLCHAIN:-auto} go mod download -json "$MODULE@$VERSION" \
  | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit("monitoring-crds: " + d.get("Error", "no Dir")))')
for kind in servicemonitors prometheusrules; do
  f="$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml"
  [[ -s "$f" ]] || { echo "monitoring-crds: $f is missing" >&2; exit 1; }
  echo "$f"
done
