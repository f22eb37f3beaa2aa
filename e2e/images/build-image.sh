#!/usr/bin/env bash
# Builds one container image archive from a shaded jar, on the shared base from build-runtime.sh:
#
#   e2e/images/build-image.sh --jar JAR --tag REGISTRY/NAME:TAG --output FILE.tar \
#       [--title TEXT] [--description TEXT] [--expose PORT]...
#
# The image runs `/opt/java/bin/java -jar /opt/microapp/<jar name> [args]` as 10001:10001; a
# Kubernetes container's `args` (the operator's `proxy --config ...`, `purge --config ...`, the
# chart's `run`) follow the jar, and JAVA_TOOL_OPTIONS reaches the JVM. Without args it prints the
# usage. The archive is both a docker-archive and an OCI layout (see imagetool.py); push or load it
# with skopeo (e2e/README.md, "Container images"). Called by the operator and sidecar modules'
# package phase; skip there with -Dimages.skip.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "build-image: ERROR: $*" >&2; exit 1; }

jar="" tag="" output="" title="" description="" expose=()
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || die "$1 needs a value"
  case "$1" in
    --jar) jar="$2" ;;
    --tag) tag="$2" ;;
    --output) output="$2" ;;
    --title) title="$2" ;;
    --description) description="$2" ;;
    --expose) expose+=(--expose "$2") ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
  shift 2
done
[[ -n "$jar" && -n "$tag" && -n "$output" ]] || die "--jar, --tag and --output are required"
[[ -f "$jar" ]] || die "$jar not found: build it first (mvn -pl operator,sidecar package)"
command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install python3"

started=$SECONDS
rootfs="$(bash "$here/build-runtime.sh" --check-jar "$jar" | tail -1)"
[[ -d "$rootfs" ]] || die "build-runtime.sh did not produce a rootfs"
runtime="$(dirname "$rootfs")"
java_version="$(cat "$runtime/java-version.txt")"
packages="$(while read -r p; do
  printf '%s %s, ' "$p" "$(sed -n 's/^Version: //p' "$rootfs/var/lib/dpkg/status.d/$p")"
done < "$runtime/packages.txt")"

dest="/opt/microapp/$(basename "$jar")"
mkdir -p "$(dirname "$output")"
python3 "$here/imagetool.py" image \
  --rootfs "$rootfs" \
  --add "$jar=$dest" \
  --tag "$tag" \
  --entrypoint "[\"/opt/java/bin/java\", \"-jar\", \"$dest\"]" \
  --cmd '["--help"]' \
  --user 10001:10001 \
  --workdir / \
  --env PATH=/opt/java/bin:/usr/bin:/bin \
  --env JAVA_HOME=/opt/java \
  --env LANG=C.UTF-8 \
  --label "org.opencontainers.image.title=$title" \
  --label "org.opencontainers.image.description=$description" \
  --label "org.opencontainers.image.version=${tag##*:}" \
  --label "org.opencontainers.image.source=https://github.com/safedefaults/microapp-operator" \
  --label "org.opencontainers.image.base.name=scratch" \
  --base-history "e2e/images/build-runtime.sh: Java $java_version (jlink), Debian ${packages%, }" \
  "${expose[@]}" \
  --output "$output"
echo "build-image: $output ($(du -m "$output" | cut -f1) MB) in $((SECONDS - started)) s" >&2
