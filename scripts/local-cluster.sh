#!/usr/bin/env bash
# Start or stop the local test cluster in the background, for molecule scenarios and other tools
# that need it outside pytest. Usage:
#   scripts/local-cluster.sh start STATE_DIR [cluster options...]   writes STATE_DIR/kubeconfig
#   scripts/local-cluster.sh stop STATE_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
action="${1:?start or stop}"
state="${2:?state directory}"
shift 2
python="${PYTHON:-$ROOT/.venv/bin/python}"

stop() {
  if [[ -f "$state/cluster.pid" ]]; then
    kill -TERM "$(cat "$state/cluster.pid")" 2>/dev/null || true
    # Give it the time to close its listeners before a new start reuses the directory.
    for _ in $(seq 50); do kill -0 "$(cat "$state/cluster.pid")" 2>/dev/null || break; sleep 0.1; done
    rm -f "$state/cluster.pid"
  fi
}

case $action in
  start)
    stop
    mkdir -p "$state"
    rm -f "$state/kubeconfig"
    (cd "$ROOT" && PYTHONPATH="$ROOT" exec "$python" -m tests.cluster --kubeconfig "$state/kubeconfig" --port 0 \
      --time-scale "${TIME_SCALE:-0.05}" "$@" >"$state/cluster.log" 2>&1) &
    echo $! >"$state/cluster.pid"
    for _ in $(seq 600); do
      if grep -q '^ready https://' "$state/cluster.log" 2>/dev/null; then
        grep '^ready https://' "$state/cluster.log" | head -n1
        exit 0
      fi
      kill -0 "$(cat "$state/cluster.pid")" 2>/dev/null || { tail -n 20 "$state/cluster.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "the local test cluster did not print 'ready https://...' within 60 s" >&2
    stop
    exit 1
    ;;
  stop) stop ;;
  *) echo "unknown action $action (start or stop)" >&2; exit 2 ;;
esac
