#!/usr/bin/env bash
# Sidecar benchmark: a script that prints figures, not a timed test (see README.md).
#
# wrk against (a) the upstream directly, (b) the sidecar with a valid bearer token, (c) oauth2-proxy
# (built from the Go module proxy) configured equivalently: same provider, same client id, bearer
# JWTs verified against the provider's keys, group check. Prints requests/s, latency percentiles,
# ratios against oauth2-proxy measured in the same run, p99 added latency at half the sidecar's
# peak rate, and the sidecar's peak RSS. Everything listens on 127.0.0.1 only and stops by itself.
#
# Needs: wrk (apt-get install wrk), go (for oauth2-proxy), and `mvn -pl sidecar package` done.
# Env: DURATION (10s), CONNS (32), THREADS (2), SIDECAR_JAVA_OPTS (container-like heap limits).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
OAUTH2_PROXY_VERSION=v7.15.6
# the flags the operator sets on the container (README.md, "JVM flags for the container")
SIDECAR_JAVA_OPTS=${SIDECAR_JAVA_OPTS:--Xmx40m -Xss256k -XX:MaxMetaspaceSize=56m -XX:ReservedCodeCacheSize=12m -XX:MaxDirectMemorySize=16m -XX:+UseSerialGC -XX:-TieredCompilation -XX:CICompilerCount=1 -XX:MaxInlineLevel=6 -XX:FreqInlineSize=100 -XX:InlineSmallCode=1000 -XX:TrimNativeHeapInterval=2000 -Dio.netty.allocator.numDirectArenas=1 -Dio.netty.allocator.numHeapArenas=1 -Dio.netty.allocator.maxOrder=7}
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}

command -v wrk >/dev/null || { echo "wrk not found; install it with: apt-get install wrk" >&2; exit 2; }
[ -f target/microapp-sidecar-all.jar ] || { echo "run: mvn -pl sidecar package (target/microapp-sidecar-all.jar missing)" >&2; exit 2; }
[ -f target/test-classes/io/safedefaults/microapp/sidecar/bench/BenchFixtures.class ] \
  || { echo "run: mvn -pl sidecar test-compile (benchmark fixtures missing)" >&2; exit 2; }

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

OAUTH2_PROXY=$(command -v oauth2-proxy || true)
if [ -z "$OAUTH2_PROXY" ]; then
  OAUTH2_PROXY=${GOBIN:-$HOME/go/bin}/oauth2-proxy
  if [ ! -x "$OAUTH2_PROXY" ]; then
    echo "building oauth2-proxy $OAUTH2_PROXY_VERSION from the Go module proxy ..." >&2
    GOBIN=$(dirname "$OAUTH2_PROXY") go install "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION"
  fi
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UP=$(free_port); SC=$(free_port); ADMIN=$(free_port); OP=$(free_port)

mvn -q -o -f ../pom.xml -pl sidecar dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
java -cp "target/test-classes:$(cat "$WORK/cp.txt")" io.safedefaults.microapp.sidecar.bench.BenchFixtures \
  "$WORK" "$UP" "$SC" "$ADMIN" >"$WORK/fixtures.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
[ -f "$WORK/ready" ] || { echo "fixtures did not start; see $WORK/fixtures.log" >&2; exit 1; }
TOKEN=$(cat "$WORK/token"); ISSUER=$(cat "$WORK/issuer")

# shellcheck disable=SC2086
java $SIDECAR_JAVA_OPTS -jar target/microapp-sidecar-all.jar proxy --config "$WORK/config.json" >"$WORK/sidecar.log" 2>&1 &
SIDECAR_PID=$!
PIDS+=($SIDECAR_PID)
"$OAUTH2_PROXY" --provider=oidc --oidc-issuer-url="$ISSUER" --client-id=where2eat --client-secret=unused \
  --cookie-secret=0123456789abcdef0123456789abcdef --cookie-secure=false --email-domain='*' \
  --oidc-groups-claim=groups --allowed-group=food-team --skip-jwt-bearer-tokens=true \
  --upstream="http://127.0.0.1:$UP/" --http-address="127.0.0.1:$OP" --request-logging=true \
  --redirect-url="http://127.0.0.1:$OP/oauth2/callback" >"$WORK/oauth2-proxy.log" 2>&1 &
PIDS+=($!)

wait_ok() { for _ in $(seq 1 200); do [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$1")" = 200 ] && return 0; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
wait_ok "http://127.0.0.1:$SC/"
wait_ok "http://127.0.0.1:$OP/"

# wrk's latency table, converted to ms; prints "rps p50 p90 p99"
measure() {
  local url=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$@" "$url")
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=ms($2) } $1=="90%" { p90=ms($2) } $1=="99%" { p99=ms($2) }
    /Non-2xx/ { bad=$4 }
    END { if (bad > 0) { print "ERROR non-2xx responses: " bad > "/dev/stderr" } printf "%.0f %.3f %.3f %.3f\n", rps, p50, p90, p99 }'
}

echo "warming up (JIT) ..." >&2
wrk -t1 -c8 -d5s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SC/" >/dev/null
wrk -t1 -c8 -d3s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$OP/" >/dev/null

read -r D_RPS D_50 D_90 D_99 < <(measure "http://127.0.0.1:$UP/")
read -r S_RPS S_50 S_90 S_99 < <(measure "http://127.0.0.1:$SC/")
read -r O_RPS O_50 O_90 O_99 < <(measure "http://127.0.0.1:$OP/")

# half of the sidecar's peak rate: each connection waits DELAY ms between requests (wrk's delay hook)
HALF_CONNS=16
DELAY=$(awk -v r="$S_RPS" -v c=$HALF_CONNS 'BEGIN { d = c * 1000 / (r / 2); if (d < 1) d = 1; printf "%d", d }')
printf 'function delay() return %s end\n' "$DELAY" >"$WORK/delay.lua"
read -r HD_RPS HD_50 HD_90 HD_99 < <(CONNS=$HALF_CONNS measure "http://127.0.0.1:$UP/" -s "$WORK/delay.lua")
read -r HS_RPS HS_50 HS_90 HS_99 < <(CONNS=$HALF_CONNS measure "http://127.0.0.1:$SC/" -s "$WORK/delay.lua")

RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$SIDECAR_PID/status")

printf '\n%-26s %10s %9s %9s %9s\n' "target ($CONNS conns, $DURATION)" "req/s" "p50 ms" "p90 ms" "p99 ms"
printf '%-26s %10s %9s %9s %9s\n' "upstream direct" "$D_RPS" "$D_50" "$D_90" "$D_99"
printf '%-26s %10s %9s %9s %9s\n' "sidecar (bearer)" "$S_RPS" "$S_50" "$S_90" "$S_99"
printf '%-26s %10s %9s %9s %9s\n' "oauth2-proxy (bearer)" "$O_RPS" "$O_50" "$O_90" "$O_99"
awk -v s="$S_RPS" -v o="$O_RPS" -v d="$D_RPS" 'BEGIN {
  printf "\nthroughput: sidecar/oauth2-proxy = %.2f, sidecar/direct = %.2f, oauth2-proxy/direct = %.2f\n", s/o, s/d, o/d }'
awk -v hd="$HD_99" -v hs="$HS_99" -v r="$HS_RPS" -v dr="$HD_RPS" 'BEGIN {
  printf "p99 added at ~half peak (sidecar %s req/s, direct %s req/s): %.3f ms\n", r, dr, hs - hd }'
awk -v k="$RSS_KB" 'BEGIN { printf "sidecar peak RSS: %.1f MB\n", k/1024 }'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work on the machine skews latency)"
