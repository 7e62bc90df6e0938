#!/usr/bin/env bash
# `make run` / `make stop`: the operator end to end on this machine.
#
#   hack/run-local.sh start DIR   build, start kube-apiserver + etcd (hack/control-plane.sh),
#                                 the IntelePeer simulator and the operator, apply the
#                                 example, wait until it is Ready, and leave it all running.
#   hack/run-local.sh stop DIR    stop all of it.
#
# `start` fails loudly: a port already in use, or the simulator or the operator
# exiting before the example is Ready, is named (with the tail of its log) and
# the script exits 1; "Running." is printed only when both are alive and the
# example is Ready. What did start keeps running for inspection: `make stop`.
#
# Environment:
#   SIM_PORT (8089), METRICS_PORT (8080), ORDER_DELAY (2s)
#   SIMULATOR_ARGS, OPERATOR_ARGS   extra flags (whitespace-separated), e.g.
#                                   OPERATOR_ARGS=--log-format=json
#   TOLLFREE_OPERATOR_BIN           use this binary instead of building target/debug's
#   READY_TIMEOUT (180)             seconds to wait for the example to be Ready
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
sim_port=${SIM_PORT:-8089}
metrics_port=${METRICS_PORT:-8080}
ready_timeout=${READY_TIMEOUT:-180}
bin=${TOLLFREE_OPERATOR_BIN:-$root/target/debug/tollfree-operator}
read -r -a simulator_args <<<"${SIMULATOR_ARGS:-}"
read -r -a operator_args <<<"${OPERATOR_ARGS:-}"

fail() { echo "make run: error: $*" >&2; exit 1; }

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

# Fails unless 127.0.0.1:PORT can be bound (what the process will do), naming
# the process that needs it, the variable that moves it, and who holds it.
require_free_port() { # port what variable
  local port=$1 what=$2 var=$3 holder
  if ! python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1 || true)
    fail "port $port (the $what, $var) is already in use${holder:+ by $holder}; stop it (make stop, if it is an earlier make run) or choose another port: $var=... make run"
  fi
}

# Fails with the tail of its log if the process NAME (pid in DIR/NAME.pid) has exited.
require_alive() { # name log
  local pid status=0
  pid=$(cat "$dir/$1.pid")
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || status=$?
    echo "---- last lines of $2 ----" >&2
    tail -n 30 "$2" >&2 || true
    echo "----" >&2
    fail "the $1 (pid $pid) exited during start (status $status); see $2. make stop stops what did start"
  fi
}

# Waits until CHECK succeeds while the process NAME stays alive.
wait_started() { # name log timeout_seconds check...
  local name=$1 log=$2 timeout=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while true; do
    require_alive "$name" "$log"
    "$@" >/dev/null 2>&1 && return 0
    (( SECONDS < deadline )) || fail "the $name did not answer within ${timeout}s; see $log"
    sleep 0.2
  done
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
  # An earlier `make run` in the same DIR is replaced.
  stop_pid operator
  stop_pid simulator
  require_free_port "$sim_port" simulator SIM_PORT
  require_free_port "$metrics_port" "operator's metrics server" METRICS_PORT

  if [[ -z "${TOLLFREE_OPERATOR_BIN:-}" ]]; then
    echo "==> building tollfree-operator"
    (cd "$root" && cargo build --quiet --bin tollfree-operator)
  fi
  [[ -x "$bin" ]] || fail "no operator binary at $bin"

  echo "==> starting the IntelePeer simulator on 127.0.0.1:$sim_port"
  nohup "$bin" simulator --listen "127.0.0.1:$sim_port" --order-delay "${ORDER_DELAY:-2s}" \
    --state "$dir/simulator-state.json" "${simulator_args[@]}" >"$dir/simulator.log" 2>&1 &
  echo $! >"$dir/simulator.pid"
  wait_started simulator "$dir/simulator.log" 30 curl -fsS "http://127.0.0.1:$sim_port/_admin/state"

  echo "==> starting the local control plane (first run builds kube-apiserver and etcd: several minutes)"
  "$root/hack/control-plane.sh" start "$dir/control-plane" >/dev/null \
    || fail "the local control plane did not start; see $dir/control-plane/*.log"
  export KUBECONFIG="$dir/control-plane/kubeconfig"

  echo "==> installing the CRD and the example"
  kubectl apply --server-side --force-conflicts -f "$root/crds/tollfreenumberset.yaml" >/dev/null
  # Polled rather than `kubectl wait`, which can fail on a CRD whose status has
  # no conditions yet.
  established() {
    [[ "$(kubectl get crd tollfreenumbersets.tollfree.dev \
          -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}')" == True ]]
  }
  deadline=$((SECONDS + 60))
  until established; do
    (( SECONDS < deadline )) || fail "the CRD was not Established within 60s"
    sleep 0.2
  done
  kubectl apply -f "$root/deploy/examples/namespace.yaml" >/dev/null
  # The example Secret carries placeholders; the simulator's user is demo/demo.
  kubectl -n telecom create secret generic intelepeer-account \
    --from-literal=username=demo --from-literal=password=demo \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -f "$root/deploy/examples/support-lines.yaml" >/dev/null

  echo "==> starting the operator (metrics on 127.0.0.1:$metrics_port)"
  nohup "$bin" run --intelepeer-url "http://127.0.0.1:$sim_port" \
    --metrics-addr "127.0.0.1:$metrics_port" "${operator_args[@]}" >"$dir/operator.log" 2>&1 &
  echo $! >"$dir/operator.pid"
  wait_started operator "$dir/operator.log" 60 curl -fsS "http://127.0.0.1:$metrics_port/readyz"

  echo "==> waiting for telecom/support-lines to be Ready"
  deadline=$((SECONDS + ready_timeout))
  until [[ "$(kubectl -n telecom get tfns support-lines \
              -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; do
    require_alive simulator "$dir/simulator.log"
    require_alive operator "$dir/operator.log"
    if (( SECONDS >= deadline )); then
      kubectl -n telecom get tfns -o yaml >&2 || true
      tail -n 40 "$dir/operator.log" >&2 || true
      fail "the example did not become Ready within ${ready_timeout}s; see $dir/operator.log"
    fi
    sleep 0.5
  done
  require_alive simulator "$dir/simulator.log"
  require_alive operator "$dir/operator.log"
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
