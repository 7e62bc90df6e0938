#!/usr/bin/env bash
# Prints deploy/tollfree-operator.yaml: the Helm chart rendered with its default
# values as the release `tollfree-operator` in namespace tollfree-system, so the
# kustomize installation (deploy/) and the Helm one never disagree.
#
#   hack/render-deploy.sh > deploy/tollfree-operator.yaml    (what `make manifests` runs)
#
# tests/helm.rs runs it and fails when the checked-in file differs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
helm=$("$ROOT/hack/tools.sh" path helm)
echo "# Generated from charts/tollfree-operator by \`make manifests\` (hack/render-deploy.sh): do not edit."
echo "# tests/helm.rs fails when this file and the chart disagree."
"$helm" template tollfree-operator "$ROOT/charts/tollfree-operator" --namespace tollfree-system
