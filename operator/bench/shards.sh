#!/usr/bin/env bash
# Two operator shards converging 2xN MicroApps, against one operator converging 2xN in the same run:
# a script that prints figures, not a timed test (README, "Running more than one operator (shards)").
#
# Starts a real control plane (e2e/control-plane/up.sh shardbench: etcd, kube-apiserver,
# kube-controller-manager on 127.0.0.1), applies the CRDs and runs the operator jar as local JVMs:
#   1. baseline: one operator (no shards) and 2xN valid apps over namespaces one-a, one-b;
#   2. shards:   operators a and b (--shard-selector safedefaults.io/shard=a / =b, each with its
#                own leader-election Lease) and 2xN apps over shard-a, shard-b (N in each);
#   3. handover: shard-a is relabelled to b while its apps are there; time until shard b holds the
#                namespace's claim, and until a spec change made right after the flip is applied.
# For each: seconds from `kubectl create` until every app has a status whose observedGeneration is
# its generation, CPU-seconds of each operator process in that time (utime+stime from /proc), and
# their RSS. The baseline's apps stay (nobody watches one-* afterwards), so the shards run against
# an API server holding 2xN more apps: a small handicap for the shards.
#
# Needs: `mvn -pl operator -am package -DskipTests` done, python3, curl, the control plane binaries
# (e2e/control-plane/build.sh, run by up.sh when missing). Everything stops on exit.
# Env: APPS (N, default 50; at most 60: the control plane's Service range 10.0.0.0/24 holds the
#      4xN Services of both runs), CONTROL_PLANE_NAME (shardbench), WAIT_SECONDS (600, per wait).
set -euo pipefail
# shellcheck disable=SC2154
trap 'rc=$?; echo "shards.sh: stopped at line $LINENO (exit $rc): $BASH_COMMAND" >&2; exit $rc' ERR
cd "$(dirname "$0")/../.."
N=${APPS:-50}
CP=${CONTROL_PLANE_NAME:-shardbench}
WAIT_SECONDS=${WAIT_SECONDS:-600}
KEYS_NS=microapp-system
JAR=operator/target/microapp-operator-all.jar

fail() { echo "shards.sh: $*" >&2; exit 2; }
if [ "$N" -lt 1 ] || [ "$N" -gt 60 ]; then
  fail "APPS=$N: use 1-60 (4xAPPS Services must fit the control plane's 10.0.0.0/24)"
fi
[ -f "$JAR" ] || fail "$JAR missing; run: mvn -pl operator -am package -DskipTests"
for tool in java python3 curl; do command -v "$tool" >/dev/null || fail "$tool not found"; done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  e2e/control-plane/down.sh "$CP" >/dev/null 2>&1 || true
  echo "work dir (operator logs): $WORK" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting control plane $CP ..." >&2
e2e/control-plane/up.sh "$CP" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
# shellcheck disable=SC1090
source "${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}/$CP/env"
export KUBECONFIG
# shellcheck disable=SC1091
source e2e/control-plane/versions.env
KUBECTL=${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/$KUBE_VERSION-linux-amd64/kubectl
[ -x "$KUBECTL" ] || KUBECTL=kubectl
k() { "$KUBECTL" "$@"; }

k apply --server-side -f crds/ >/dev/null
k wait --for=condition=Established crd/microapps.safedefaults.io --timeout=60s >/dev/null
k create namespace "$KEYS_NS" >/dev/null
for ns in one-a one-b shard-a shard-b; do k create namespace "$ns" >/dev/null; done
k label namespace shard-a safedefaults.io/shard=a >/dev/null
k label namespace shard-b safedefaults.io/shard=b >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
TICK=$(getconf CLK_TCK)
cpu_s() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
now() { date +%s.%N; }

# start_operator NAME ARGS...: sets PID; waits for /readyz
start_operator() {
  local name=$1 port; shift
  port=$(free_port)
  POD_NAMESPACE=$KEYS_NS POD_NAME="bench-$name" java -XX:MaxRAMPercentage=50 -jar "$JAR" run \
    --keys-namespace "$KEYS_NS" --cluster-issuer letsencrypt-prod \
    --default-issuer https://login.example.com/realms/acme --http-address 127.0.0.1 --http-port "$port" "$@" \
    >"$WORK/operator-$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  PID=$pid
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/operator-$name.log" >&2; fail "operator $name exited"; }
    sleep 0.2
  done
  fail "operator $name not ready within 60 s (log: $WORK/operator-$name.log)"
}

apps() { # NAMESPACE COUNT TAG: valid MicroApps with unique hosts
  python3 - "$@" <<'PY'
import json, sys
ns, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    print(json.dumps({"apiVersion": "safedefaults.io/v1alpha1", "kind": "MicroApp",
        "metadata": {"name": f"app-{i}", "namespace": ns},
        "spec": {"image": "ghcr.io/acme/where2eat:1.4.2", "port": 8080, "host": f"app-{i}.{ns}.{tag}.apps.example.com",
                 "visibility": "private",
                 "auth": {"issuer": "https://login.example.com/realms/acme", "allowedGroups": ["food-team"],
                          "allowedEmailDomains": ["acme.com"], "adminPaths": ["/admin/**", "/export"],
                          "sessionTTL": "8h"},
                 "retention": {"ttl": "30d", "purge": {"http": {"path": "/internal/purge"}},
                               "exportPath": "/api/me/export", "deletePath": "/api/me"}}}))
    print("---")
PY
}
# apps in these namespaces whose status does not yet describe their generation
unconverged() {
  local n=0 ns c
  for ns in "$@"; do
    c=$(k get microapps -n "$ns" -o jsonpath='{range .items[*]}{.metadata.generation}={.status.observedGeneration}{"\n"}{end}' \
      | awk -F= '$1 != $2' | wc -l)
    n=$((n + c))
  done
  echo "$n"
}
wait_converged() { # namespaces...
  local deadline=$((SECONDS + WAIT_SECONDS)) left
  while :; do
    left=$(unconverged "$@")
    [ "$left" = 0 ] && return 0
    [ $SECONDS -ge $deadline ] && fail "timed out: $left apps in $* without a current status"
    sleep 0.5
  done
}
holder() { k get lease -n "$KEYS_NS" "microapp-namespace-$1" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- 1. baseline: one operator, 2xN apps ----------------------------------------------------------
start_operator one --no-leader-election; ONE=$PID
c0=$(cpu_s "$ONE"); t0=$(now)
{ apps one-a "$N" one; apps one-b "$N" one; } | k create -f - >/dev/null
wait_converged one-a one-b
t1=$(now); c1=$(cpu_s "$ONE")
ONE_T=$(elapsed "$t0" "$t1"); ONE_CPU=$(diff_s "$c0" "$c1"); ONE_RSS=$(rss_mb "$ONE")
kill "$ONE"; wait "$ONE" 2>/dev/null || true

# ---- 2. two shards, 2xN apps (N each) --------------------------------------------------------------
start_operator a --leader-election-namespace "$KEYS_NS" --shard-name a --shard-selector safedefaults.io/shard=a; A=$PID
start_operator b --leader-election-namespace "$KEYS_NS" --shard-name b --shard-selector safedefaults.io/shard=b; B=$PID
for ns in shard-a shard-b; do
  for _ in $(seq 1 120); do [ -n "$(holder "$ns")" ] && break; sleep 0.5; done
  [ -n "$(holder "$ns")" ] || fail "no shard claimed $ns (logs: $WORK/operator-a.log, operator-b.log)"
done
ca0=$(cpu_s "$A"); cb0=$(cpu_s "$B"); t0=$(now)
{ apps shard-a "$N" shard; apps shard-b "$N" shard; } | k create -f - >/dev/null
wait_converged shard-a shard-b
t1=$(now); ca1=$(cpu_s "$A"); cb1=$(cpu_s "$B")
SH_T=$(elapsed "$t0" "$t1"); A_CPU=$(diff_s "$ca0" "$ca1"); B_CPU=$(diff_s "$cb0" "$cb1")
A_RSS=$(rss_mb "$A"); B_RSS=$(rss_mb "$B")

# ---- 3. handover of shard-a (N apps) to shard b -----------------------------------------------------
ca0=$(cpu_s "$A"); cb0=$(cpu_s "$B")
t0=$(now)
k label namespace shard-a safedefaults.io/shard=b --overwrite >/dev/null
k patch microapp app-0 -n shard-a --type merge -p '{"spec":{"image":"ghcr.io/acme/where2eat:1.5.0"}}' >/dev/null
while [ "$(holder shard-a)" != "$KEYS_NS/microapp-operator-b" ]; do
  [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -lt "$WAIT_SECONDS" ] || fail "shard b never took shard-a over"
  sleep 0.1
done
t1=$(now)
wait_converged shard-a
t2=$(now); ca1=$(cpu_s "$A"); cb1=$(cpu_s "$B")

printf '\n%-44s %9s %12s %14s %8s\n' "2x$N MicroApps (status observed)" "seconds" "CPU-seconds" "CPU-s per app" "RSS MB"
printf '%-44s %9s %12s %14s %8s\n' "one operator, 2x$N apps (baseline)" "$ONE_T" "$ONE_CPU" \
  "$(awk -v c="$ONE_CPU" -v n="$N" 'BEGIN { printf "%.3f", c / (2 * n) }')" "$ONE_RSS"
printf '%-44s %9s %12s %14s %8s\n' "shard a, $N apps" "$SH_T" "$A_CPU" \
  "$(awk -v c="$A_CPU" -v n="$N" 'BEGIN { printf "%.3f", c / n }')" "$A_RSS"
printf '%-44s %9s %12s %14s %8s\n' "shard b, $N apps" "$SH_T" "$B_CPU" \
  "$(awk -v c="$B_CPU" -v n="$N" 'BEGIN { printf "%.3f", c / n }')" "$B_RSS"
awk -v o="$ONE_T" -v s="$SH_T" -v oc="$ONE_CPU" -v a="$A_CPU" -v b="$B_CPU" -v or="$ONE_RSS" -v ar="$A_RSS" -v br="$B_RSS" 'BEGIN {
  printf "\ntwo shards / one operator: time %.2f, CPU (sum) %.2f, RSS (sum) %.2f, RSS (largest) %.2f\n",
    s / o, (a + b) / oc, (ar + br) / or, (ar > br ? ar : br) / or }'
echo "handover of shard-a ($N apps) to shard b: claim held by b after $(elapsed "$t0" "$t1") s;" \
  "every app there current (incl. a change made at the flip) after $(elapsed "$t0" "$t2") s;" \
  "CPU-seconds a $(diff_s "$ca0" "$ca1"), b $(diff_s "$cb0" "$cb1")"
echo "operator logs: $(cat "$WORK"/operator-*.log | grep -c '"level":"ERROR"' || true) ERROR lines"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
