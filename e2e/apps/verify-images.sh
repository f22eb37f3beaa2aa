#!/usr/bin/env bash
# Checks the archives build-images.sh wrote without a cluster or a container engine, the way
# ContainerImageIT checks the operator's and the sidecar's: skopeo reads each archive (tag,
# linux/amd64, user, entrypoint), umoci unpacks it, and its entrypoint runs inside the unpacked
# root filesystem as uid/gid 10001 with chroot, no_new_privs, no capabilities, the root filesystem
# read-only and a tmpfs at /tmp, in private mount and network namespaces (only a loopback
# interface: nothing listens on this machine's addresses).
#
#   e2e/apps/verify-images.sh [--images-dir DIR] [--only where2eat|landing|idp]...
#
# where2eat: its endpoints as the sidecar calls them (identity headers, the purge contract,
# export/delete), `seed` and `count` from a second process on the same data, `selfcheck`.
# landing: the page, nothing else. The OIDC provider: started as a pod would start it (env only),
# discovery and the authorization code flow as seen through a TLS-terminating ingress
# (X-Forwarded-Proto: https, Host: login.example.com) with issuer path /realms/acme (oidc_check.py).
# Needs root (chroot, mount and network namespaces), skopeo, umoci (e2e/install-test-deps.sh),
# curl and python3. IDP_EXTRA_ENV="K=V ..." adds variables to the provider's environment (e.g.
# JAVA_TOOL_OPTIONS=-Xmx64m, as a pod spec would).
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
die() { echo "verify-images: FAILED: $*" >&2; exit 1; }
log() { echo "verify-images: $*" >&2; }

dir="$repo/e2e/target/images" only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images-dir) dir="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ "$(id -u)" -eq 0 ]] || die "run as root: chroot and mount/network namespaces need it"
for t in skopeo umoci unshare chroot setpriv curl python3 ip; do
  command -v "$t" >/dev/null 2>&1 || die "$t not found (skopeo and umoci: e2e/install-test-deps.sh)"
done
wanted() { [[ ${#only[@]} -eq 0 || " ${only[*]} " == *" $1 "* ]]; }
# shellcheck source=../control-plane/versions.env
source "$repo/e2e/control-plane/versions.env"

work="$(mktemp -d /tmp/verify-images-XXXXXX)"
trap 'rm -rf "$work"' EXIT

# unpack NAME ARCHIVE TAG: checks the archive as skopeo reads it; unpacks to $work/NAME/rootfs
unpack() {
  local name="$1" archive="$2" ref="$3"
  [[ -f "$archive" ]] || die "$archive not found: run e2e/apps/build-images.sh"
  local inspect config
  inspect="$(skopeo inspect "docker-archive:$archive:$ref")" || die "$name: skopeo finds no $ref in $archive"
  config="$(skopeo inspect --config "docker-archive:$archive:$ref")"
  skopeo inspect "oci-archive:$archive:${ref##*:}" >/dev/null || die "$name: not readable as an OCI archive"
  python3 - "$name" "$inspect" "$config" <<'EOF' || exit 1
import json, sys
name, inspect, config = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
c = config["config"]
assert inspect["Architecture"] == "amd64" and inspect["Os"] == "linux", inspect
assert c["User"] == "10001:10001", c["User"]
entry = " ".join(c["Entrypoint"])
entry = entry if len(entry) < 120 else entry[:100] + " ... " + c["Entrypoint"][-1]
print(f"verify-images: {name}: linux/amd64, user {c['User']}, entrypoint {entry}, "
      f"{len(inspect['Layers'])} layers", file=sys.stderr)
EOF
  skopeo copy --quiet "docker-archive:$archive:$ref" "oci:$work/$name-layout:${ref##*:}"
  umoci unpack --image "$work/$name-layout:${ref##*:}" "$work/$name" >/dev/null
  # nothing in the image is writable by its user but /tmp, nothing is setuid
  local bad
  bad="$(find "$work/$name/rootfs" -xdev \( -perm -4000 -o -perm -2000 -o \( -perm -0002 ! -type l ! -path '*/rootfs/tmp' \) \) -print | head -3)"
  [[ -z "$bad" ]] || die "$name: setuid/setgid or world-writable: $bad"
  [[ "$(stat -c %a "$work/$name/rootfs/tmp")" == 1777 ]] || die "$name: /tmp is not 1777"
  [[ ! -e "$work/$name/rootfs/bin/sh" && ! -e "$work/$name/rootfs/usr/bin/sh" ]] || die "$name: has a shell"
}

# The container: a script run in private mount + network namespaces. $ROOT is the image's root,
# read-only, with /proc, /dev and a tmpfs /tmp; `in_container ARGS...` runs the image's program as
# 10001 without privileges. The test itself (curl, python3) runs outside the chroot, in the same
# network namespace.
container_script() {  # NAME SCRIPT
  local root="$work/$1/rootfs"
  unshare --mount --net --propagation private --fork -- bash -euo pipefail -c '
    ROOT="$1" SCRIPT="$2"
    ip link set lo up
    mount --bind "$ROOT" "$ROOT"
    mount -o remount,bind,ro "$ROOT"
    mount -t proc proc "$ROOT/proc"
    mount --rbind /dev "$ROOT/dev"
    mount -t tmpfs -o mode=1777,size=64m tmpfs "$ROOT/tmp"
    SETPRIV="$(command -v setpriv)" CHROOT="$(command -v chroot)"
    in_container() {  # env -i: the image'"'"'s environment only, so the tools are named by path
      env -i "${ENVS[@]}" "$SETPRIV" --no-new-privs \
        "$CHROOT" --userspec=10001:10001 --groups=10001 "$ROOT" "$@"
    }
    start_container() {  # in the background, as PID $! (so a kill reaches the program itself)
      exec_container() { exec env -i "${ENVS[@]}" "$SETPRIV" --no-new-privs \
        "$CHROOT" --userspec=10001:10001 --groups=10001 "$ROOT" "$@"; }
      exec_container "$@" &
    }
    trap '"'"'echo "verify-images: failed: $BASH_COMMAND" >&2'"'"' ERR
    wait_http() {  # URL
      for _ in $(seq 1 150); do curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0; sleep 0.2; done
      echo "not answering: $1" >&2; return 1
    }
    ENVS=(PATH=/)
    eval "$SCRIPT"
  ' bash "$root" "$2"
}

if wanted where2eat; then
  unpack where2eat "$dir/where2eat.tar" "$WHERE2EAT_IMAGE"
  container_script where2eat '
    start_container /where2eat serve > "$ROOT/tmp/server.log" 2>&1; server=$!
    wait_http http://127.0.0.1:8080/healthz || { cat "$ROOT/tmp/server.log" >&2; exit 1; }
    U=(-H "X-Forwarded-User: ann-sub" -H "X-Forwarded-Email: ann@acme.com" -H "X-Forwarded-Groups: food-team")
    c() { curl -sS --max-time 5 "$@"; }
    c "${U[@]}" -H "X-Forwarded-Preferred-Username: ann" http://127.0.0.1:8080/ | grep -q "Signed in as <strong>ann</strong>"
    c http://127.0.0.1:8080/ | grep -q "Not signed in"
    [[ "$(c -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/api/places)" == 401 ]]
    c "${U[@]}" -H "Content-Type: application/json" -d "{\"name\":\"Pho 99\"}" http://127.0.0.1:8080/api/places | grep -q "\"user\":\"ann-sub\""
    [[ "$(c "${U[@]}" -H "Accept: text/html" --data-urlencode "name=Taco Loco" -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/api/places)" == 303 ]]
    [[ "$(c "${U[@]}" http://127.0.0.1:8080/api/places | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" == 2 ]]
    # a second process (kubectl exec) writes the same file
    in_container /where2eat seed --user bob-sub --name "Old place" --age 40d >/dev/null
    [[ "$(in_container /where2eat count | python3 -c "import json,sys; d=json.load(sys.stdin); print(d[\"total\"], d[\"perUser\"][\"bob-sub\"])")" == "3 1" ]]
    c "${U[@]}" http://127.0.0.1:8080/admin | grep -q "<td id=\"total\">3</td>"
    # the purge runner's call as the sidecar forwards it (the job's token removed) -> {"deleted": N}
    cutoff="$(date -u -d "-30 days" +%Y-%m-%dT%H:%M:%SZ)"
    [[ "$(c -d "olderThan=$cutoff" http://127.0.0.1:8080/internal/purge)" == "{\"deleted\":1}" ]]
    c "${U[@]}" http://127.0.0.1:8080/api/me/export | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"user\"]==\"ann-sub\" and len(d[\"places\"])==2, d"
    [[ "$(c "${U[@]}" -X DELETE http://127.0.0.1:8080/api/me)" == "{\"deleted\":2}" ]]
    [[ "$(in_container /where2eat count | python3 -c "import json,sys; print(json.load(sys.stdin)[\"total\"])")" == 0 ]]
    # the process as the kernel sees it
    in_container /where2eat selfcheck > "$ROOT/tmp/selfcheck.json"
    python3 - "$ROOT/tmp/selfcheck.json" <<"EOF"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["uid"] == 10001 and c["gid"] == 10001 and c["groups"] == [10001], c
assert c["noCapabilities"] and c["noNewPrivs"], c["status"]
assert not c["writable"]["/"]["writable"] and "read-only" in c["writable"]["/"]["error"], c["writable"]
assert not c["writable"]["/etc"]["writable"] and c["writable"]["/tmp"]["writable"], c["writable"]
assert c["writable"]["/tmp/where2eat-data"]["writable"] and not c["serviceAccountToken"], c
assert c["envNames"] == ["PATH"], c["envNames"]
assert any(m["mountPoint"] == "/" and m["readOnly"] for m in c["mounts"]), c["mounts"]
print("verify-images: where2eat: selfcheck uid 10001, no capabilities, no_new_privs, / read-only, /tmp writable", file=sys.stderr)
EOF
    # logs: JSON lines, no user id, e-mail address or token
    sleep 0.2
    ! grep -E "ann-sub|bob-sub|acme.com|t0ken|Pho 99" "$ROOT/tmp/server.log"
    python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$ROOT/tmp/server.log"
    kill $server; wait $server || true
    grep -q "\"msg\":\"stopped\"" "$ROOT/tmp/server.log"
  ' || die "where2eat (above)"
  log "where2eat: endpoints, purge contract, export/delete, seed/count, selfcheck, logs, SIGTERM: OK"
fi

if wanted landing; then
  unpack landing "$dir/landing.tar" "$LANDING_IMAGE"
  container_script landing '
    start_container /where2eat landing > "$ROOT/tmp/server.log" 2>&1; server=$!
    wait_http http://127.0.0.1:8080/healthz
    curl -fsS http://127.0.0.1:8080/ | grep -q "Acme lunch"
    [[ "$(curl -sS -o /dev/null -w "%{http_code}" http://127.0.0.1:8080/api/places)" == 404 ]]
    [[ -z "$(ls -A "$ROOT/tmp" | grep -v server.log)" ]]   # keeps no data
    kill $server; wait $server || true
  ' || die "landing (above)"
  log "landing: page, nothing else, no data: OK"
fi

if wanted idp; then
  idp_ref="$(tar -xOf "$dir/mock-oauth2-server.tar" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')"
  unpack idp "$dir/mock-oauth2-server.tar" "$idp_ref"
  entry="$(python3 -c 'import json, shlex, sys; print(shlex.join(json.load(open(sys.argv[1]))["process"]["args"]))' "$work/idp/config.json")"
  env_line="$(python3 -c 'import json, shlex, sys; print(shlex.join(json.load(open(sys.argv[1]))["process"]["env"]))' "$work/idp/config.json")"
  container_script idp '
    ENVS=('"$env_line"' SERVER_PORT=8080 "JSON_CONFIG={\"interactiveLogin\":true,\"httpServer\":\"NettyWrapper\"}" '"${IDP_EXTRA_ENV:-}"')
    start=$(date +%s%N)
    start_container '"$entry"' > "$ROOT/tmp/idp.log" 2>&1; server=$!
    wait_http http://127.0.0.1:8080/isalive || { cat "$ROOT/tmp/idp.log" >&2; exit 1; }
    echo "verify-images: idp: answering after $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
    python3 "'"$here"'/oidc_check.py" --server 127.0.0.1:8080 --public-host login.example.com --issuer-path /realms/acme
    echo "verify-images: idp: peak RSS $(sed -n "s/^VmHWM: *//p" /proc/$server/status)" >&2
    grep -E "ERROR|Exception" "$ROOT/tmp/idp.log" >&2 && exit 1
    kill $server; wait $server || true
  ' || die "the OIDC provider (above)"
  log "idp: discovery and tokens name https://login.example.com/realms/acme behind the proxy headers; code flow with PKCE, amr, groups, signature: OK"
fi
log "all checked"
