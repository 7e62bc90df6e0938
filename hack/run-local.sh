#!/usr/bin/env bash
# `make run` / `make stop`: the operator end to end on this machine.
#
#   hack/run-local.sh start DIR   build, start kube-apiserver + etcd (hack/control-plane.sh),
#                                 the IntelePeer simulator and the operator, apply the
#                                 example, wait until it is Ready, and leave it all running.
#   hack/run-local.sh stop DIR    stop all of it.
#
# Environment: SIM_PORT (8089), METRICS_PORT (8080), ORDER_DELAY (2s).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
sim_port=${SIM_PORT:-8089}
metrics_port=${METRICS_PORT:-8080}
bin="$root/target/debug/tollfree-operator"

stop_pid() { # name
  local f="$dir/$1.pid"
  if [[ -f "$f" ]]; then
    local pid; pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  fi
}

case "$cmd" in
stop)
  stop_pid operator
  stop_pid simulator
  "$root/hack/control-plane.sh" stop "$dir/control-plane"
  echo "stopped"
  ;;
start)
  mkdir -p "$dir"
  echo "==> building tollfree-operator"
  (cd "$root" && cargo build --quiet --bin tollfree-operator)

  echo "==> starting the local control plane (first run builds kube-apiserver and etcd: several minutes)"
  "$root/hack/control-plane.sh" start "$dir/control-plane" >/dev/null
  export KUBECONFIG="$dir/control-plane/kubeconfig"

  stop_pid simulator
  echo "==> starting the IntelePeer simulator on 127.0.0.1:$sim_port"
  nohup "$bin" simulator --listen "127.0.0.1:$sim_port" --order-delay "${ORDER_DELAY:-2s}" \
    --state "$dir/simulator-state.json" >"$dir/simulator.log" 2>&1 &
  echo $! >"$dir/simulator.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$sim_port/_admin/state" >/dev/null 2>&1 && break
    sleep 0.1
  done

  echo "==> installing the CRD and the example"
  kubectl apply -f "$root/crds/tollfreenumberset.yaml" >/dev/null
  kubectl wait --for condition=established --timeout=60s crd/tollfreenumbersets.tollfree.dev >/dev/null
  kubectl apply -f "$root/deploy/examples/namespace.yaml" >/dev/null
  # The example Secret carries placeholders; the simulator's user is demo/demo.
  kubectl -n telecom create secret generic intelepeer-account \
    --from-literal=username=demo --from-literal=password=demo \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -f "$root/deploy/examples/support-lines.yaml" >/dev/null

  stop_pid operator
  echo "==> starting the operator"
  nohup "$bin" run --intelepeer-url "http://127.0.0.1:$sim_port" \
    --metrics-addr "127.0.0.1:$metrics_port" >"$dir/operator.log" 2>&1 &
  echo $! >"$dir/operator.pid"

  echo "==> waiting for telecom/support-lines to be Ready"
  if ! kubectl -n telecom wait --for=condition=Ready tfns/support-lines --timeout=180s >/dev/null; then
    kubectl -n telecom get tfns -o yaml >&2 || true
    tail -n 40 "$dir/operator.log" >&2 || true
    echo "the example did not become Ready; see $dir/operator.log" >&2
    exit 1
  fi
  kubectl get tfns -A
  cat <<EOT

Running. Try:
  export KUBECONFIG=$KUBECONFIG
  kubectl get tfns -A
  kubectl -n telecom describe tfns support-lines
  kubectl -n telecom get events --sort-by=.metadata.creationTimestamp
  curl -s http://127.0.0.1:$sim_port/_admin/ledger | jq .     # what the simulated vendor did
  curl -s http://127.0.0.1:$metrics_port/metrics
Logs: $dir/operator.log, $dir/simulator.log
Stop: make stop
EOT
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
