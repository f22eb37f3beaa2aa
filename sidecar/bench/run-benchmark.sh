#!/usr/bin/env bash
# Sidecar benchmark: a script that prints figures, not a timed test (see ../README.md, "Tests and
# benchmark").
#
# wrk against, in one run on the same machine:
#   upstream direct                 the baseline: no proxy at all
#   nginx reverse proxy             the floor cost of any proxy (Debian's nginx, keep-alive upstream)
#   sidecar (bearer)                API path: a bearer JWT verified against the provider's keys
#   oauth2-proxy (bearer)           v7.15.6 from the Go module proxy, configured equivalently: same
#                                   provider, same client id, --skip-jwt-bearer-tokens, group check
#   sidecar (session cookie)        browser path: the sealed session cookie (test-only, minted with the
#                                   sidecar's own CookieJar and the benchmark's keyset; BenchFixtures)
#   oauth2-proxy (session cookie)   browser path: the cookie from a real sign-in through the provider
# Prints requests/s, latency percentiles, ratios against the direct upstream and nginx measured in
# the same run and sidecar/oauth2-proxy, p99 added at half the sidecar's peak rate, and the sidecar's
# peak RSS. Everything listens on 127.0.0.1 only and stops by itself.
#
# Needs: `mvn -B -pl sidecar -am package` (or verify) done: the shaded jar, the compiled test classes
# and target/bench-classpath.txt, which that build writes; java, go (for oauth2-proxy, unless it is on
# PATH or in ~/go/bin); wrk, nginx, curl, python3 (install-bench-deps.sh installs the missing ones
# from Debian when run as root, and is called here).
# Env: DURATION (10s), CONNS (32), THREADS (2), SIDECAR_JAVA_OPTS (container-like heap limits).
set -euo pipefail
# A failing step names itself: before, a failed `mvn -q ... >/dev/null` ended the run without a word.
# shellcheck disable=SC2154
trap 'rc=$?; echo "run-benchmark.sh: stopped at line $LINENO (exit $rc): $BASH_COMMAND" >&2; exit $rc' ERR
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
OAUTH2_PROXY_VERSION=v7.15.6
# the flags the operator sets on the container (README.md, "JVM flags for the container")
SIDECAR_JAVA_OPTS=${SIDECAR_JAVA_OPTS:--Xmx40m -Xss256k -XX:MaxMetaspaceSize=56m -XX:ReservedCodeCacheSize=12m -XX:MaxDirectMemorySize=16m -XX:+UseSerialGC -XX:-TieredCompilation -XX:CICompilerCount=1 -XX:MaxInlineLevel=6 -XX:FreqInlineSize=100 -XX:InlineSmallCode=1000 -XX:TrimNativeHeapInterval=2000 -Dio.netty.allocator.numDirectArenas=1 -Dio.netty.allocator.numHeapArenas=1 -Dio.netty.allocator.maxOrder=7}
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}

fail() { echo "run-benchmark.sh: $*" >&2; exit 2; }

bash bench/install-bench-deps.sh || fail "machine packages missing (see the line above)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || fail "nginx not found; install it with: apt-get install nginx-light"
command -v java >/dev/null || fail "java not found; install a JDK 17+ (apt-get install openjdk-17-jdk-headless)"
[ -f target/microapp-sidecar-all.jar ] \
  || fail "target/microapp-sidecar-all.jar missing; run from the repository root: mvn -B -pl sidecar -am package"
[ -f target/test-classes/io/safedefaults/microapp/sidecar/bench/BenchFixtures.class ] \
  || fail "benchmark fixtures (test classes) missing; run: mvn -B -pl sidecar -am package (without -Dmaven.test.skip)"
[ -s target/bench-classpath.txt ] \
  || fail "target/bench-classpath.txt missing (the sidecar build writes it); run: mvn -B -pl sidecar -am package"
CP=$(cat target/bench-classpath.txt)
for jar in ${CP//:/ }; do
  [ -f "$jar" ] || fail "$jar (from target/bench-classpath.txt) is gone; rebuild: mvn -B -pl sidecar -am package"
done

OAUTH2_PROXY=$(command -v oauth2-proxy || true)
if [ -z "$OAUTH2_PROXY" ]; then
  OAUTH2_PROXY=${GOBIN:-$HOME/go/bin}/oauth2-proxy
  if [ ! -x "$OAUTH2_PROXY" ]; then
    command -v go >/dev/null \
      || fail "oauth2-proxy not found and no go to build it; install Go (https://go.dev/dl) or put oauth2-proxy on PATH"
    echo "building oauth2-proxy $OAUTH2_PROXY_VERSION from the Go module proxy ..." >&2
    GOBIN=$(dirname "$OAUTH2_PROXY") go install "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION" \
      || fail "building oauth2-proxy failed (needs the Go module proxy)"
  fi
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UP=$(free_port); SC=$(free_port); ADMIN=$(free_port); OP=$(free_port); NG=$(free_port)
# logs are copied here when something fails, since WORK is removed on exit
LOGS=${TMPDIR:-/tmp}/sidecar-bench-logs
died() { mkdir -p "$LOGS"; cp "$WORK"/*.log "$LOGS"/ 2>/dev/null || true; fail "$* (logs in $LOGS)"; }

java -cp "target/test-classes:target/classes:$CP" io.safedefaults.microapp.sidecar.bench.BenchFixtures \
  "$WORK" "$UP" "$SC" "$ADMIN" >"$WORK/fixtures.log" 2>&1 &
FIXTURES_PID=$!
PIDS+=("$FIXTURES_PID")
for _ in $(seq 1 300); do
  [ -f "$WORK/ready" ] && break
  kill -0 "$FIXTURES_PID" 2>/dev/null || died "fixtures (provider, upstream) exited"
  sleep 0.1
done
[ -f "$WORK/ready" ] || died "fixtures (provider, upstream) did not start within 30 s"
TOKEN=$(cat "$WORK/token"); ISSUER=$(cat "$WORK/issuer"); SIDECAR_COOKIE=$(cat "$WORK/sidecar-cookie")

# shellcheck disable=SC2086
java $SIDECAR_JAVA_OPTS -jar target/microapp-sidecar-all.jar proxy --config "$WORK/config.json" >"$WORK/sidecar.log" 2>&1 &
SIDECAR_PID=$!
PIDS+=("$SIDECAR_PID")
"$OAUTH2_PROXY" --provider=oidc --oidc-issuer-url="$ISSUER" --client-id=where2eat --client-secret=unused \
  --cookie-secret=0123456789abcdef0123456789abcdef --cookie-secure=false --email-domain='*' \
  --oidc-groups-claim=groups --allowed-group=food-team --skip-jwt-bearer-tokens=true \
  --upstream="http://127.0.0.1:$UP/" --http-address="127.0.0.1:$OP" --request-logging=true \
  --redirect-url="http://127.0.0.1:$OP/oauth2/callback" >"$WORK/oauth2-proxy.log" 2>&1 &
PIDS+=($!)

# nginx as a plain reverse proxy: no auth, no logging, keep-alive connections to the upstream, one
# worker per core. What any proxy in front of the app costs at least.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream app { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$NG;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx.conf" -e "$WORK/nginx.log" &
PIDS+=($!)

# wait_ok URL [curl header args]: 200 within 20 s, or stop with the logs
wait_ok() {
  local url=$1; shift
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  died "no 200 from $url"
}
wait_ok "http://127.0.0.1:$SC/" -H "Authorization: Bearer $TOKEN"
wait_ok "http://127.0.0.1:$OP/" -H "Authorization: Bearer $TOKEN"
wait_ok "http://127.0.0.1:$NG/"

# oauth2-proxy's browser path: sign in for real (start -> provider -> callback -> app) with a cookie
# jar, then send its session cookie(s); large sessions are split into _oauth2_proxy_0, _1, ...
JAR="$WORK/oauth2-proxy.cookies"
LANDED=$(curl -s -L --max-redirs 5 -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code} %{url_effective}' \
  "http://127.0.0.1:$OP/oauth2/start?rd=%2F" || true)
[ "${LANDED%% *}" = 200 ] || died "oauth2-proxy sign-in did not land on the app (got: $LANDED)"
OP_COOKIE=$(awk -F'\t' '$6 ~ /^_oauth2_proxy(_[0-9]+)?$/ { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$JAR")
[ -n "$OP_COOKIE" ] || died "oauth2-proxy sign-in set no session cookie"
wait_ok "http://127.0.0.1:$OP/" -H "Cookie: $OP_COOKIE"
wait_ok "http://127.0.0.1:$SC/" -H "Cookie: $SIDECAR_COOKIE" -H "Sec-Fetch-Site: same-origin"

BEARER=(-H "Authorization: Bearer $TOKEN")
SC_BROWSER=(-H "Cookie: $SIDECAR_COOKIE" -H "Sec-Fetch-Site: same-origin" -H "Accept: text/html")
OP_BROWSER=(-H "Cookie: $OP_COOKIE" -H "Sec-Fetch-Site: same-origin" -H "Accept: text/html")

# wrk's latency table, converted to ms; prints "rps p50 p90 p99". Any non-2xx answer stops the run:
# a figure for refused requests would measure the wrong path.
measure() {
  local url=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  echo "$out" | awk -v url="$url" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=ms($2) } $1=="90%" { p90=ms($2) } $1=="99%" { p99=ms($2) }
    /Non-2xx/ { bad=$4 }
    END { if (bad > 0) { print "run-benchmark.sh: " bad " non-2xx responses from " url > "/dev/stderr"; exit 1 }
          printf "%.0f %.3f %.3f %.3f\n", rps, p50, p90, p99 }'
}

echo "warming up (JIT) ..." >&2
wrk -t1 -c8 -d5s "${BEARER[@]}" "http://127.0.0.1:$SC/" >/dev/null
wrk -t1 -c8 -d3s "${SC_BROWSER[@]}" "http://127.0.0.1:$SC/" >/dev/null
wrk -t1 -c8 -d3s "${BEARER[@]}" "http://127.0.0.1:$OP/" >/dev/null
wrk -t1 -c8 -d2s "http://127.0.0.1:$NG/" >/dev/null

echo "measuring (6 targets x $DURATION, then 3 paced runs) ..." >&2
M=$(measure "http://127.0.0.1:$UP/" "${BEARER[@]}"); read -r D_RPS D_50 D_90 D_99 <<<"$M"
M=$(measure "http://127.0.0.1:$NG/" "${BEARER[@]}"); read -r N_RPS N_50 N_90 N_99 <<<"$M"
M=$(measure "http://127.0.0.1:$SC/" "${BEARER[@]}"); read -r S_RPS S_50 S_90 S_99 <<<"$M"
M=$(measure "http://127.0.0.1:$OP/" "${BEARER[@]}"); read -r O_RPS O_50 O_90 O_99 <<<"$M"
M=$(measure "http://127.0.0.1:$SC/" "${SC_BROWSER[@]}"); read -r SB_RPS SB_50 SB_90 SB_99 <<<"$M"
M=$(measure "http://127.0.0.1:$OP/" "${OP_BROWSER[@]}"); read -r OB_RPS OB_50 OB_90 OB_99 <<<"$M"

# half of the sidecar's peak rate: each connection waits DELAY ms between requests (wrk's delay hook)
HALF_CONNS=16
DELAY=$(awk -v r="$S_RPS" -v c=$HALF_CONNS 'BEGIN { d = c * 1000 / (r / 2); if (d < 1) d = 1; printf "%d", d }')
printf 'function delay() return %s end\n' "$DELAY" >"$WORK/delay.lua"
M=$(CONNS=$HALF_CONNS measure "http://127.0.0.1:$UP/" -s "$WORK/delay.lua" "${BEARER[@]}"); read -r HD_RPS _ _ HD_99 <<<"$M"
M=$(CONNS=$HALF_CONNS measure "http://127.0.0.1:$NG/" -s "$WORK/delay.lua" "${BEARER[@]}"); read -r _ _ _ HN_99 <<<"$M"
M=$(CONNS=$HALF_CONNS measure "http://127.0.0.1:$SC/" -s "$WORK/delay.lua" "${BEARER[@]}"); read -r HS_RPS _ _ HS_99 <<<"$M"

RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$SIDECAR_PID/status")

row() { printf '%-30s %10s %9s %9s %9s\n' "$@"; }
echo
row "target ($CONNS conns, $DURATION)" "req/s" "p50 ms" "p90 ms" "p99 ms"
row "upstream direct" "$D_RPS" "$D_50" "$D_90" "$D_99"
row "nginx reverse proxy" "$N_RPS" "$N_50" "$N_90" "$N_99"
row "sidecar (bearer)" "$S_RPS" "$S_50" "$S_90" "$S_99"
row "oauth2-proxy (bearer)" "$O_RPS" "$O_50" "$O_90" "$O_99"
row "sidecar (session cookie)" "$SB_RPS" "$SB_50" "$SB_90" "$SB_99"
row "oauth2-proxy (session cookie)" "$OB_RPS" "$OB_50" "$OB_90" "$OB_99"
awk -v d="$D_RPS" -v n="$N_RPS" -v s="$S_RPS" -v o="$O_RPS" -v sb="$SB_RPS" -v ob="$OB_RPS" 'BEGIN {
  printf "\nthroughput vs direct: nginx %.2f, sidecar bearer %.2f, oauth2-proxy bearer %.2f, sidecar cookie %.2f, oauth2-proxy cookie %.2f\n", n/d, s/d, o/d, sb/d, ob/d
  printf "throughput vs nginx:  sidecar bearer %.2f, oauth2-proxy bearer %.2f, sidecar cookie %.2f, oauth2-proxy cookie %.2f\n", s/n, o/n, sb/n, ob/n
  printf "sidecar/oauth2-proxy: bearer %.2f, session cookie %.2f\n", s/o, sb/ob }'
awk -v hd="$HD_99" -v hn="$HN_99" -v hs="$HS_99" -v r="$HS_RPS" -v dr="$HD_RPS" 'BEGIN {
  printf "p99 added at ~half sidecar peak (sidecar %s req/s, direct %s req/s): sidecar bearer %.3f ms, nginx %.3f ms\n", r, dr, hs - hd, hn - hd }'
awk -v k="$RSS_KB" 'BEGIN { printf "sidecar peak RSS: %.1f MB\n", k/1024 }'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work on the machine skews latency)"
