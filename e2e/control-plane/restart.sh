#!/usr/bin/env bash
# Crashes one process of a control plane started by up.sh and starts it again, for fault tests:
#
#   e2e/control-plane/restart.sh NAME PROC [--down SECONDS]
#
# PROC is etcd, kube-apiserver or kube-controller-manager. It gets SIGKILL (no clean shutdown,
# as in a crash or an OOM kill), stays down for SECONDS (default 0), and is started again with
# exactly the command line up.sh started it with (recorded by cp_start in lib.sh) on the same
# ports and data, logging to the same file. Waits until it answers again: etcd's /health,
# kube-apiserver's /readyz (CONTROL_PLANE_START_TIMEOUT seconds, default 90). Prints one line
# with the time the process was down.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() { echo "usage: $0 NAME etcd|kube-apiserver|kube-controller-manager [--down SECONDS]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cp_init "$1"
proc="$2"
down=0
shift 2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --down) [[ "${2:-}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage; down="$2"; shift 2 ;;
    *) usage ;;
  esac
done
case "$proc" in etcd | kube-apiserver | kube-controller-manager) ;; *) usage ;; esac
if ! cp_running; then
  echo "restart.sh: control plane '$CP_NAME' is not (fully) running" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$CP_STATE/env"   # ETCD_URL, KUBECONFIG

t0=$(date +%s%N)
cp_kill "$proc"
sleep "$down"
cp_restart "$proc"
pid="$(cp_pid_of "$proc")"

ready() {
  case "$proc" in
    etcd) curl -fsS "$ETCD_URL/health" ;;
    kube-apiserver) "$CP_BIN/kubectl" --kubeconfig="$KUBECONFIG" --request-timeout=5s get --raw /readyz ;;
    kube-controller-manager) sleep 1 ;;   # no readiness of its own worth waiting for: alive is enough
  esac
}
deadline=$((SECONDS + ${CONTROL_PLANE_START_TIMEOUT:-90}))
until ready >/dev/null 2>&1; do
  if ! cp_pid_ours "$pid"; then
    echo "restart.sh: $proc exited after the restart; last lines of $CP_STATE/logs/$proc.log:" >&2
    tail -n 20 "$CP_STATE/logs/$proc.log" >&2
    exit 1
  fi
  if ((SECONDS > deadline)); then
    echo "restart.sh: $proc did not answer within ${CONTROL_PLANE_START_TIMEOUT:-90}s after the restart" >&2
    exit 1
  fi
  sleep 0.2
done
cp_pid_ours "$pid" || { echo "restart.sh: $proc exited after the restart" >&2; exit 1; }
echo "control plane '$CP_NAME': $proc killed and back (pid $pid) after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
