#!/usr/bin/env bash
# Builds the example apps' container images and the test OIDC provider's, as archives a node
# imports with `ctr -n k8s.io images import` (no registry, no container engine):
#
#   e2e/apps/build-images.sh [--apps-only | --idp-only] [--skip-tests] [--output-dir DIR]
#
#   DIR/where2eat.tar            ghcr.io/acme/where2eat:1.4.2   /where2eat serve     (examples/where2eat.yaml)
#   DIR/landing.tar              ghcr.io/acme/landing:2.0.0     /where2eat landing   (examples/landing-page.yaml)
#   DIR/mock-oauth2-server.tar   ghcr.io/safedefaults/mock-oauth2-server:<version>   TEST ONLY
#
# DIR defaults to e2e/target/images. Tags and the Go release come from e2e/control-plane/versions.env,
# the provider's version from the parent pom (mock-oauth2-server.version). The two app images are one
# static Go binary (CGO_ENABLED=0, -trimpath, -buildvcs=false, no build id) on a minimal root
# filesystem (/etc/passwd, /etc/group and /etc/nsswitch.conf, /tmp 1777, user 10001, no shell), so
# they share both layers and differ only in their entrypoint. `go test ./...` runs before packing
# (--skip-tests: not). The provider's image is built by Maven (e2e/pom.xml, the block "The test OIDC
# provider's image"): `mvn -pl e2e -am package` with every other image skipped.
#
# Idempotent and quick when nothing changed: each part is skipped when its inputs (sources, scripts,
# versions, Go release, poms) hash to what the archives were built from. Reproducible: the same
# inputs give byte-identical archives (SOURCE_DATE_EPOCH, default 0, sets every timestamp).
# Verify the results without a cluster: e2e/apps/verify-images.sh. See e2e/apps/README.md.
set -euo pipefail
umask 022
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
images="$repo/e2e/images"
die() { echo "build-images: ERROR: $*" >&2; exit 1; }
log() { echo "build-images: $*" >&2; }

apps=1 idp=1 tests=1 out="$repo/e2e/target/images"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --apps-only) idp=0; shift ;;
    --idp-only) apps=0; shift ;;
    --skip-tests) tests=0; shift ;;
    --output-dir) [[ $# -ge 2 ]] || die "--output-dir needs a directory"; out="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# shellcheck source=../control-plane/versions.env
source "$repo/e2e/control-plane/versions.env"
[[ -n "${WHERE2EAT_IMAGE:-}" && -n "${LANDING_IMAGE:-}" && -n "${APPS_GO_VERSION:-}" ]] \
  || die "e2e/control-plane/versions.env lacks WHERE2EAT_IMAGE, LANDING_IMAGE or APPS_GO_VERSION"
command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install python3"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
started=$SECONDS

hash_of() {  # a short hash of the named files' contents and of the extra words given after --
  local files=() extra=()
  while [[ $# -gt 0 && "$1" != -- ]]; do files+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift && extra=("$@")
  { sha256sum "${files[@]}"; printf '%s\n' "${extra[@]}"; } | sha256sum | cut -c1-16
}

summary() {  # tag, archive
  local digest
  digest="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["Config"])' \
    <(tar -xOf "$2" manifest.json) 2>/dev/null || true)"
  printf '  %-46s %s (%s KiB, config %s)\n' "$1" "$2" "$(( $(stat -c %s "$2") / 1024 ))" "${digest#blobs/sha256/}" >&2
}

# ---- the app images ----------------------------------------------------------------------------------
build_apps() {
  local src="$here/where2eat"
  command -v go >/dev/null 2>&1 || die "go not found: the example app needs Go $APPS_GO_VERSION (GOTOOLCHAIN=local)"
  local gov
  gov="$(GOTOOLCHAIN=local go env GOVERSION)"
  [[ "$gov" == "go$APPS_GO_VERSION" || "$gov" == "go$APPS_GO_VERSION."* ]] \
    || die "go is $gov; versions.env pins APPS_GO_VERSION=$APPS_GO_VERSION (install that release, or change the pin)"
  mapfile -t sources < <(cd "$src" && find . -type f \( -name '*.go' -o -name 'go.mod' \) | sort)
  local key
  key="$(cd "$src" && hash_of "${sources[@]}" "$here/build-images.sh" "$images/imagetool.py" \
    -- "$gov" "$WHERE2EAT_IMAGE" "$LANDING_IMAGE" "epoch $SOURCE_DATE_EPOCH" "tests $tests")"
  if [[ -f "$out/where2eat.tar" && -f "$out/landing.tar" && "$(cat "$out/.apps.key" 2>/dev/null)" == "$key" ]]; then
    log "app images up to date ($key)"
    return
  fi
  rm -f "$out/.apps.key"
  local goenv=(env GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOOS=linux GOARCH=amd64)
  if [[ $tests -eq 1 ]]; then
    log "go test ./... in e2e/apps/where2eat"
    (cd "$src" && "${goenv[@]}" go test -count=1 ./... >&2) || die "the example app's tests failed"
  fi
  local bin_dir="$out/.where2eat-bin"
  mkdir -p "$bin_dir"
  local version="${WHERE2EAT_IMAGE##*:}"
  (cd "$src" && "${goenv[@]}" go build -trimpath -ldflags "-s -w -buildid= -X main.version=$version" \
    -o "$bin_dir/where2eat" .) || die "go build failed"
  chmod 0755 "$bin_dir/where2eat"
  if command -v file >/dev/null 2>&1; then
    file "$bin_dir/where2eat" | grep -q "statically linked" || die "where2eat is not statically linked"
  fi

  # The base: what a static program needs and nothing else. Content-addressed, because imagetool
  # caches the base layer next to the rootfs and trusts that directory never to change.
  local cache="${MICROAPP_IMAGES_CACHE:-$HOME/.cache/microapp-images}"
  local staging
  staging="$(mktemp -d)"
  trap 'rm -rf "$staging"' RETURN
  local r="$staging/rootfs"
  mkdir -p "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev"
  cat > "$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:10001:10001:nonroot:/nonexistent:/sbin/nologin
EOF
  cat > "$r/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:10001:
EOF
  echo "hosts: files dns" > "$r/etc/nsswitch.conf"
  find "$r" -type d -exec chmod 0755 {} +
  find "$r" -type f -exec chmod 0644 {} +
  chmod 1777 "$r/tmp"
  local base_key
  base_key="$( (cd "$r" && find . -printf '%p %m %s\n' | sort && find . -type f -print0 | sort -z | xargs -0 cat) \
    | sha256sum | cut -c1-16)"
  local base="$cache/static-base-$base_key"
  if [[ ! -d "$base/rootfs" ]]; then
    mkdir -p "$cache"
    rm -rf "$base.tmp"
    mkdir -p "$base.tmp"
    mv "$r" "$base.tmp/rootfs"
    mv "$base.tmp" "$base" 2>/dev/null || rm -rf "$base.tmp"  # a concurrent build made it first
  fi

  local common=(--rootfs "$base/rootfs" --add "$bin_dir/where2eat=/where2eat" --cmd '[]' --user 10001:10001
    --workdir / --env PATH=/ --expose 8080
    --label "org.opencontainers.image.source=https://github.com/safedefaults/microapp-operator"
    --label "org.opencontainers.image.base.name=scratch"
    --base-history "e2e/apps/build-images.sh: static base (/etc/passwd, /etc/group, /etc/nsswitch.conf, /tmp)")
  python3 "$images/imagetool.py" image "${common[@]}" --tag "$WHERE2EAT_IMAGE" \
    --entrypoint '["/where2eat", "serve"]' \
    --label "org.opencontainers.image.title=where2eat" \
    --label "org.opencontainers.image.description=Example micro-app of microapp-operator's end-to-end tests: lunch places behind the auth sidecar" \
    --label "org.opencontainers.image.version=${WHERE2EAT_IMAGE##*:}" \
    --output "$out/where2eat.tar"
  python3 "$images/imagetool.py" image "${common[@]}" --tag "$LANDING_IMAGE" \
    --entrypoint '["/where2eat", "landing"]' \
    --label "org.opencontainers.image.title=landing" \
    --label "org.opencontainers.image.description=Example public landing page of microapp-operator's end-to-end tests (no data)" \
    --label "org.opencontainers.image.version=${LANDING_IMAGE##*:}" \
    --output "$out/landing.tar"
  echo "$key" > "$out/.apps.key"
}

# ---- the test OIDC provider's image (Maven) --------------------------------------------------------------
build_idp() {
  command -v mvn >/dev/null 2>&1 || die "mvn not found: the provider's image is built by Maven (e2e/pom.xml)"
  local key
  # the runtime's inputs too: the JDK build and the Debian packages build-runtime.sh takes
  local jdk="${MICROAPP_IMAGE_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
  key="$(hash_of "$repo/pom.xml" "$repo/e2e/pom.xml" "$images/build-image.sh" "$images/build-runtime.sh" \
    "$images/imagetool.py" "$jdk/release" -- "epoch $SOURCE_DATE_EPOCH" \
    "$(apt-cache policy libc6 libc-bin zlib1g libgcc-s1 libstdc++6 ca-certificates 2>/dev/null | grep Candidate)")"
  if [[ -f "$out/mock-oauth2-server.tar" && "$(cat "$out/.idp.key" 2>/dev/null)" == "$key" ]]; then
    log "provider image up to date ($key)"
    return
  fi
  rm -f "$out/.idp.key"
  log "mvn -pl e2e -am package (only the provider's image; operator and sidecar jars are packaged for the reactor)"
  # a stale jar from an older pom would put two versions on the classpath: start from an empty dir
  rm -rf "$repo/e2e/target/idp-lib"
  (cd "$repo" && mvn -B -q -pl e2e -am package -Dmaven.test.skip=true -Dimages.skip=true \
    -Didp.image.skip=false >&2) || die "the Maven build of the provider's image failed (above)"
  local built="$repo/e2e/target/images/mock-oauth2-server.tar"
  [[ -f "$built" ]] || die "Maven wrote no $built"
  if [[ "$built" != "$out/mock-oauth2-server.tar" ]]; then
    cp "$built" "$out/mock-oauth2-server.tar"
  fi
  echo "$key" > "$out/.idp.key"
}

[[ $apps -eq 1 ]] && build_apps
[[ $idp -eq 1 ]] && build_idp
log "done in $((SECONDS - started)) s:"
if [[ $apps -eq 1 ]]; then
  summary "$WHERE2EAT_IMAGE" "$out/where2eat.tar"
  summary "$LANDING_IMAGE" "$out/landing.tar"
fi
if [[ $idp -eq 1 ]]; then
  summary "$(tar -xOf "$out/mock-oauth2-server.tar" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')" \
    "$out/mock-oauth2-server.tar"
fi
