#!/usr/bin/env bash
# Operator scale benchmark (e2e/bench/README.md): prints figures, is not a timed test.
#
#   e2e/bench/run.sh [--apps N] [--namespaces 50] [--resync-seconds 60] [--jfr] [--help for all options]
#
# Needs what `mvn -B verify` (or `mvn -pl operator -am package -DskipTests`) built: the operator jar;
# and the control plane binaries of e2e/control-plane/build.sh (up.sh builds them when Go is
# installed). Starts two fresh local control planes of its own (names bench-base-PID and
# bench-op-PID, free loopback ports) and stops them on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../control-plane/versions.env
source "$root/e2e/control-plane/versions.env"

missing=()
[[ -f "$root/operator/target/microapp-operator-all.jar" ]] \
  || missing+=("operator/target/microapp-operator-all.jar: build it with 'mvn -B verify' or 'mvn -pl operator -am package -DskipTests'")
for tool in java jcmd python3 openssl curl; do
  command -v "$tool" >/dev/null || missing+=("'$tool' is not on PATH (java and jcmd come with a JDK 17+)")
done
bin="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/$KUBE_VERSION-linux-amd64"
if [[ ! -x "$bin/kube-apiserver" || ! -x "$bin/kubectl" ]]; then
  command -v go >/dev/null \
    || missing+=("control plane binaries are missing in $bin and Go is not installed to build them (e2e/control-plane/build.sh)")
fi
if ((${#missing[@]})); then
  printf 'e2e/bench/run.sh: %s\n' "${missing[@]}" >&2
  exit 2
fi
"$root/e2e/control-plane/build.sh" >/dev/null
command -v jfr >/dev/null || echo "e2e/bench/run.sh: 'jfr' not on PATH: --jfr records but prints no hot spots" >&2
export BENCH_KUBECTL="$bin/kubectl"
exec python3 -B "$root/e2e/bench/bench.py" "$@"
