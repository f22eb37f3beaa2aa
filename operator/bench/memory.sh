#!/usr/bin/env bash
# Operator memory benchmark: a script that prints figures, not a timed test (see README.md, "Memory").
#
# Starts a real control plane (e2e/control-plane/up.sh membench: etcd, kube-apiserver and
# kube-controller-manager on 127.0.0.1), applies the CRD and runs the operator jar as a local JVM.
# Then ROUNDS times: create APPS MicroApps over a few namespaces (valid ones and malformed or
# hostile ones, operator/bench/apps.py; those the API refuses are only counted), wait until every
# accepted app has a status, delete them all and wait until they and their children are gone, force
# a full GC (jcmd GC.run) and read the heap in use after it, the committed heap, metaspace and RSS.
# At the end, the classes whose live bytes grew most between after round 1 and after the last round
# (jcmd GC.class_histogram). Each MODE is one operator process:
#   uncapped  no heap option at all, as the outside review ran it (the JVM sizes its heap from the
#             machine's memory: a quarter of it may become heap before a full GC is forced)
#   chart     the chart's javaOptions (helm/microapp-operator/values.yaml) in a container limited
#             to CHART_MEMORY_LIMIT (the chart's resources.limits.memory), emulated with
#             -XX:MaxRAM and the collector the JVM picks with that little memory (Serial)
#   chart-full  as chart, with the heap at its maximum from the start (-Xms = the max heap,
#             -XX:+AlwaysPreTouch): the resident memory once a busy operator has grown its heap
# Native memory tracking (summary) is on in both, to say where resident memory outside the heap goes.
#
# Needs: `mvn -pl operator -am package -DskipTests` done, python3, the control plane binaries
# (e2e/control-plane/build.sh, run by up.sh when missing). Everything stops on exit.
# Env: ROUNDS (5), APPS (100), MODES ("uncapped chart chart-full"), CHART_MEMORY_LIMIT (the chart's limit),
#      BENCH_NAMESPACES ("membench-a membench-b membench-c membench-d"), CONTROL_PLANE_NAME (membench),
#      WAIT_SECONDS (300, per wait), IDLE_SECONDS (0: when set, the operator idles that long after the
#      last round and then runs one round more, to show whether what the rounds left behind expires),
#      HEAP_DUMP (unset; 1 writes a heap dump at the end of each mode into the work dir),
#      CHART_JAVA_OPTIONS (the chart's operator.javaOptions; set it to try other options).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
APPS=${APPS:-100}
MODES=${MODES:-uncapped chart chart-full}
# the chart's resources.limits.memory (512Mi -> 512m)
CHART_MEMORY_LIMIT=${CHART_MEMORY_LIMIT:-$(awk '/^resources:/ { r = 1 } r && /limits:/ { l = 1 } l && /memory:/ { print $2; exit }' \
  helm/microapp-operator/values.yaml | sed 's/Mi$/m/; s/Gi$/g/')}
read -r -a NAMESPACES <<<"${BENCH_NAMESPACES:-membench-a membench-b membench-c membench-d}"
CP=${CONTROL_PLANE_NAME:-membench}
WAIT_SECONDS=${WAIT_SECONDS:-300}
IDLE_SECONDS=${IDLE_SECONDS:-0}
KEYS_NS=microapp-system
JAR=operator/target/microapp-operator-all.jar

[ -f "$JAR" ] || { echo "run: mvn -pl operator -am package -DskipTests ($JAR missing)" >&2; exit 2; }
for tool in java jcmd python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
CHART_OPTS=${CHART_JAVA_OPTIONS:-$(sed -n 's/^ *javaOptions: *"\(.*\)"$/\1/p' helm/microapp-operator/values.yaml)}
[ -n "$CHART_OPTS" ] || { echo "javaOptions not found in helm/microapp-operator/values.yaml" >&2; exit 2; }

WORK=$(mktemp -d)
OP_PID=""
stop_operator() {
  if [ -n "$OP_PID" ]; then
    kill "$OP_PID" 2>/dev/null || true
    wait "$OP_PID" 2>/dev/null || true
    OP_PID=""
  fi
}
cleanup() {
  stop_operator
  e2e/control-plane/down.sh "$CP" >/dev/null 2>&1 || true
  echo "work dir (operator logs, histograms): $WORK" >&2
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
for ns in "$KEYS_NS" "${NAMESPACES[@]}"; do k create namespace "$ns" >/dev/null; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

kb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$OP_PID/status"; }
# Prometheus series the operator exports: per-app meters would grow with every round
series() { curl -fs "http://127.0.0.1:$port/metrics" | grep -vc '^#' || true; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$OP_PID/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$OP_PID/status"; }
# "used committed" of the Java heap in KB, from GC.heap_info (G1: one heap line; Serial: two generations)
heap_kb() {
  jcmd "$OP_PID" GC.heap_info | awk '
    /total [0-9]+K, used [0-9]+K/ { for (i = 1; i <= NF; i++) { if ($i == "total") { t += $(i+1) + 0 } if ($i == "used") { u += $(i+1) + 0 } } }
    END { print u, t }'
}
metaspace_kb() { jcmd "$OP_PID" GC.heap_info | awk '/Metaspace/ { for (i = 1; i <= NF; i++) if ($i == "used") { print $(i+1) + 0; exit } }'; }
# committed KB of one native memory tracking category ("Java Heap", "Class", "Thread", "Code", "GC", "Other", ...)
nmt_kb() { awk -v c="$2" '$0 ~ "^- +" c " \\(" { sub(/.*committed=/, ""); print $0 + 0; exit }' "$1"; }
# established TCP connections of the operator (to the API server: the HTTP client's pool)
tcp_conns() { ss -Htnp state established 2>/dev/null | grep -c "pid=$OP_PID," || true; }
full_gc() { jcmd "$OP_PID" GC.run >/dev/null; sleep 1; jcmd "$OP_PID" GC.run >/dev/null; }

count_apps() { k get microapps -A --no-headers 2>/dev/null | wc -l; }
count_with_status() {
  k get microapps -A -o jsonpath='{range .items[*]}{.status.conditions[0].type}{"\n"}{end}' 2>/dev/null | grep -c . || true
}
count_without_status() { echo $(( $(count_apps) - $(count_with_status) )); }
# the operator's children (label-selected, as its informers are) still in the bench namespaces
count_children() {
  local n=0 ns c
  for ns in "${NAMESPACES[@]}"; do
    c=$(k get deployments,services,serviceaccounts,configmaps,secrets,networkpolicies,ingresses,cronjobs,jobs \
      -n "$ns" -l app.kubernetes.io/managed-by=microapp-operator --no-headers 2>/dev/null | wc -l)
    n=$((n + c))
  done
  echo "$n"
}
wait_until() { # seconds, description, command...: waits until the command prints 0
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs)) left
  while :; do
    left=$("$@")
    [ "$left" = 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then echo "timed out waiting for $what ($left left)" >&2; return 1; fi
    sleep 2
  done
}

run_mode() {
  local mode=$1 opts port
  case "$mode" in
    uncapped) opts="" ;;
    chart) opts="$CHART_OPTS -XX:MaxRAM=$CHART_MEMORY_LIMIT -XX:+UseSerialGC" ;;
    chart-full)
      local pct limit_mb
      pct=$(sed -n 's/.*-XX:MaxRAMPercentage=\([0-9.]*\).*/\1/p' <<<"$CHART_OPTS")
      limit_mb=$(awk -v l="$CHART_MEMORY_LIMIT" 'BEGIN { n = l + 0; if (l ~ /[gG]$/) n *= 1024; print n }')
      opts="$CHART_OPTS -XX:MaxRAM=$CHART_MEMORY_LIMIT -XX:+UseSerialGC -Xms$(awk -v l="$limit_mb" -v p="${pct:-25}" 'BEGIN { printf "%d", l * p / 100 }')m -XX:+AlwaysPreTouch" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  port=$(free_port)
  # shellcheck disable=SC2086
  java $opts -XX:NativeMemoryTracking=summary -jar "$JAR" run --no-leader-election --keys-namespace "$KEYS_NS" \
    --cluster-issuer letsencrypt-prod --default-issuer https://login.example.com/realms/acme \
    --http-address 127.0.0.1 --http-port "$port" >"$WORK/operator-$mode.log" 2>&1 &
  OP_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$OP_PID" 2>/dev/null || { tail -20 "$WORK/operator-$mode.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "operator not ready" >&2; exit 1; }

  echo "" 
  echo "== mode $mode: java ${opts:-(no options)} -XX:NativeMemoryTracking=summary -jar $JAR run ..."
  echo "JVM flags: $(jcmd "$OP_PID" VM.flags | tail -1 | tr ' ' '\n' | grep -E 'MaxHeapSize|InitialHeapSize|Use[A-Za-z0-9]*GC$|MaxRAM|ExitOnOutOfMemory|UsePerfData|AlwaysPreTouch' | tr '\n' ' ')"

  full_gc
  local used committed meta
  read -r used committed < <(heap_kb)
  # RSS before GC: as the round left it; everything right of it: after a full GC
  local row='%-10s %7s %7s %8s %8s %10s %10s %9s %9s %8s %7s %5s %6s\n'
  # shellcheck disable=SC2059
  printf "\n$row" "after" "created" "refused" "statuses" "children" "RSS->GC" "heap used" "heap com." "metaspace" "RSS" "threads" "conns" "series"
  # shellcheck disable=SC2059
  printf "$row" "start" "-" "-" "-" "-" "-" "$(kb "$used")" "$(kb "$committed")" "$(kb "$(metaspace_kb)")" "$(kb "$(rss_kb)")" "$(threads)" "$(tcp_conns)" "$(series)"
  local r created refused children label last=$ROUNDS
  [ "$IDLE_SECONDS" -gt 0 ] && last=$((ROUNDS + 1))
  for r in $(seq 1 "$last"); do
    label="round $r"
    if [ "$r" -gt "$ROUNDS" ]; then
      echo "idling ${IDLE_SECONDS}s before one more round ..." >&2
      sleep "$IDLE_SECONDS"
      label="idle+round"
    fi
    python3 operator/bench/apps.py "$r" "$APPS" "${NAMESPACES[@]}" >"$WORK/apps-$mode-$r.yaml"
    k create -f "$WORK/apps-$mode-$r.yaml" >"$WORK/create-$mode-$r.out" 2>"$WORK/create-$mode-$r.err" || true
    created=$(grep -c ' created$' "$WORK/create-$mode-$r.out" || true)
    refused=$((APPS - created))
    wait_until "$WAIT_SECONDS" "a status on every app" count_without_status || true
    local statuses; statuses=$(count_with_status)
    children=$(count_children)
    k delete microapps --all -n "${NAMESPACES[0]}" --wait=false >/dev/null
    for ns in "${NAMESPACES[@]:1}"; do k delete microapps --all -n "$ns" --wait=false >/dev/null; done
    wait_until "$WAIT_SECONDS" "the apps to be deleted" count_apps
    wait_until "$WAIT_SECONDS" "the children to be garbage-collected" count_children || true
    sleep 5   # let the informers see the last deletions
    local rss_before; rss_before=$(rss_kb)
    full_gc
    read -r used committed < <(heap_kb)
    # shellcheck disable=SC2059
    printf "$row" "$label" "$created" "$refused" "$statuses" "$children" "$(kb "$rss_before")" "$(kb "$used")" "$(kb "$committed")" "$(kb "$(metaspace_kb)")" "$(kb "$(rss_kb)")" "$(threads)" "$(tcp_conns)" "$(series)"
    echo "$used" >>"$WORK/heap-$mode"
    jcmd "$OP_PID" GC.class_histogram >"$WORK/histo-$mode-$r.txt"
  done
  [ -n "${HEAP_DUMP:-}" ] && jcmd "$OP_PID" GC.heap_dump "$WORK/heap-$mode.hprof" >/dev/null
  jcmd "$OP_PID" VM.native_memory summary >"$WORK/nmt-$mode.txt"
  local cat total heap
  total=$(awk '/^Total:/ { sub(/.*committed=/, ""); print $0 + 0; exit }' "$WORK/nmt-$mode.txt")
  heap=$(nmt_kb "$WORK/nmt-$mode.txt" "Java Heap")
  local max_heap
  max_heap=$(jcmd "$OP_PID" VM.flags | tr ' ' '\n' | sed -n 's/^-XX:MaxHeapSize=//p')
  printf '\nMB: peak RSS during the run (VmHWM) %s; max heap %s; committed by the JVM (native memory tracking) %s, of which heap %s and outside the heap %s (tracking itself %s):\n ' \
    "$(kb "$(hwm_kb)")" "$(kb $((max_heap / 1024)))" \
    "$(kb "$total")" "$(kb "$heap")" "$(kb $((total - heap)))" "$(kb "$(nmt_kb "$WORK/nmt-$mode.txt" "Native Memory Tracking")")"
  for cat in "Class" "Metaspace" "Code" "Thread" "GC" "Symbol" "Compiler" "Internal" "Other" "Shared class space" "Arena Chunk" "Module"; do
    printf ' %s %s,' "$cat" "$(kb "$(nmt_kb "$WORK/nmt-$mode.txt" "$cat")")"
  done
  echo ""
  echo "classes whose live bytes grew most from after round 1 to after the last round: bytes, then instances after each round"
  local files=() f
  for f in $(seq 1 "$last"); do files+=("$WORK/histo-$mode-$f.txt"); done
  awk -v rounds="$last" '
    FNR == 1 { file++ }
    $1 ~ /^[0-9]+:$/ { n[$4, file] = $2; b[$4, file] = $3; seen[$4] = 1 }
    END {
      for (c in seen) { d = b[c, rounds] - b[c, 1]; if (d > 0) {
        line = sprintf("%+10d ", d); for (i = 1; i <= rounds; i++) line = line sprintf(" %7d", n[c, i]); print line "  " c } }
    }' "${files[@]}" | sort -rn | awk 'NR <= 10'  # not head: with pipefail its early exit fails the script
  awk 'NR == 1 { f = $1 } { l = $1 } END { printf "heap after full GC, round 1 -> last round: %+.1f MB\n", (l - f) / 1024 }' "$WORK/heap-$mode"
  echo "operator log: $(grep -c '"level":"ERROR"' "$WORK/operator-$mode.log" || true) ERROR lines, $(grep -c '"level":"WARN"' "$WORK/operator-$mode.log" || true) WARN lines"
  stop_operator
}

echo "$ROUNDS rounds of $APPS MicroApps over ${NAMESPACES[*]} (operator/bench/apps.py), control plane $CP"
for mode in $MODES; do run_mode "$mode"; done
echo ""
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
