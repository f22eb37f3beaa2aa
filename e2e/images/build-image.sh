#!/usr/bin/env bash
# Builds one container image archive from a shaded jar, or from a directory of plain jars, on the
# shared base from build-runtime.sh:
#
#   e2e/images/build-image.sh --jar JAR --tag REGISTRY/NAME:TAG --output FILE.tar \
#       [--title TEXT] [--description TEXT] [--expose PORT]... [--env NAME=VALUE]...
#   e2e/images/build-image.sh --lib-dir DIR --main-class CLASS [--app-dir /opt/NAME] [--jvm-opt OPT]... \
#       [--unused-module MODULE]... \
#       --tag REGISTRY/NAME:TAG --output FILE.tar [--title TEXT] [--description TEXT] [--expose PORT]...
#       [--env NAME=VALUE]...
#
# --jar: the image runs `/opt/java/bin/java -jar /opt/microapp/<jar name> [args]` as 10001:10001; a
# Kubernetes container's `args` (the operator's `proxy --config ...`, `purge --config ...`, the
# chart's `run`) follow the jar, and JAVA_TOOL_OPTIONS reaches the JVM. Without args it prints the
# usage. --env sets a default in the image's environment that a container's `env` replaces: the
# operator's pom gives JAVA_TOOL_OPTIONS the chart's operator.javaOptions, so the image run outside
# the chart has the same bounded heap (e2e/bench/README.md, "The JVM flags"). Called by the operator and sidecar modules' package phase; skip there with -Dimages.skip.
#
# --lib-dir: every *.jar in DIR goes to APP_DIR/lib/ (default APP_DIR /opt/microapp) and the image
# runs `/opt/java/bin/java [--jvm-opt ...] -cp <those jars, sorted> CLASS [args]`, no Cmd. Used for
# the test OIDC provider (e2e/pom.xml). Every JDK module jdeps finds in the jars must be in the
# runtime, as for --jar, except those named with --unused-module (referenced only from code the
# application never runs); two versions of one artifact in DIR (a stale copy) fail the build.
#
# The archive is both a docker-archive and an OCI layout (see imagetool.py); push or load it with
# skopeo (e2e/README.md, "Container images").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "build-image: ERROR: $*" >&2; exit 1; }

jar="" lib_dir="" main_class="" app_dir="/opt/microapp" tag="" output="" title="" description="" expose=() jvm_opts=() unused=() envs=()
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || die "$1 needs a value"
  case "$1" in
    --jar) jar="$2" ;;
    --lib-dir) lib_dir="$2" ;;
    --main-class) main_class="$2" ;;
    --app-dir) app_dir="$2" ;;
    --jvm-opt) jvm_opts+=("$2") ;;
    --unused-module) unused+=("$2") ;;
    --tag) tag="$2" ;;
    --output) output="$2" ;;
    --title) title="$2" ;;
    --description) description="$2" ;;
    --expose) expose+=(--expose "$2") ;;
    --env)
      [[ "$2" =~ ^[A-Z_][A-Z0-9_]*=.+$ ]] || die "--env '$2' must be NAME=VALUE (NAME in capitals, digits and _, VALUE not empty)"
      case "${2%%=*}" in PATH|JAVA_HOME|LANG) die "--env ${2%%=*}: the script sets that one itself" ;; esac
      envs+=(--env "$2") ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
  shift 2
done
[[ -n "$tag" && -n "$output" ]] || die "--tag and --output are required"
[[ -n "$jar" || -n "$lib_dir" ]] || die "--jar or --lib-dir is required"
[[ -z "$jar" || -z "$lib_dir" ]] || die "--jar and --lib-dir exclude each other"
command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install python3"
[[ "$app_dir" =~ ^/[A-Za-z0-9._/-]+$ && "$app_dir" != */ ]] || die "--app-dir '$app_dir' must be an absolute directory path"

started=$SECONDS
adds=()
if [[ -n "$jar" ]]; then
  [[ -f "$jar" ]] || die "$jar not found: build it first (mvn -pl operator,sidecar -am package)"
  [[ -z "$main_class" && ${#jvm_opts[@]} -eq 0 && ${#unused[@]} -eq 0 ]] || die "--main-class, --jvm-opt and --unused-module go with --lib-dir"
  check=(--check-jar "$jar")
  dest="$app_dir/$(basename "$jar")"
  adds+=(--add "$jar=$dest")
  entrypoint="[\"/opt/java/bin/java\", \"-jar\", \"$dest\"]"
  cmd='["--help"]'
else
  [[ -d "$lib_dir" ]] || die "--lib-dir $lib_dir is not a directory"
  [[ "$main_class" =~ ^[A-Za-z_$][A-Za-z0-9_$.]*$ ]] || die "--main-class is required with --lib-dir (a Java class name)"
  mapfile -t jars < <(cd "$lib_dir" && LC_ALL=C ls -1 -- *.jar 2>/dev/null | LC_ALL=C sort)
  [[ ${#jars[@]} -gt 0 ]] || die "no *.jar in $lib_dir"
  # a stale copy next to a newer one would put two versions of a library on the classpath
  dupes="$(printf '%s\n' "${jars[@]}" | sed -E 's/-[0-9][^-]*(-[A-Za-z0-9.]+)?\.jar$//' | sort | uniq -d)"
  [[ -z "$dupes" ]] || die "$lib_dir holds more than one version of: $(echo $dupes); delete it and build again (mvn clean)"
  classpath=""
  for j in "${jars[@]}"; do
    [[ "$j" =~ ^[A-Za-z0-9._+-]+\.jar$ ]] || die "$lib_dir/$j: unexpected characters in a jar name"
    adds+=(--add "$lib_dir/$j=$app_dir/lib/$j")
    classpath+="${classpath:+:}$app_dir/lib/$j"
  done
  found=""
  for j in "${jars[@]}"; do
    if python3 -c 'import sys, zipfile; sys.exit(0 if sys.argv[2].replace(".", "/") + ".class" in zipfile.ZipFile(sys.argv[1]).namelist() else 1)' \
        "$lib_dir/$j" "$main_class"; then found="$j"; break; fi
  done
  [[ -n "$found" ]] || die "no jar in $lib_dir has the main class $main_class"
  check=()
  entrypoint="$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \
    /opt/java/bin/java "${jvm_opts[@]}" -cp "$classpath" "$main_class")"
  cmd='[]'
fi
rootfs="$(bash "$here/build-runtime.sh" "${check[@]}" | tail -1)"
[[ -d "$rootfs" ]] || die "build-runtime.sh did not produce a rootfs"
if [[ -n "$lib_dir" ]]; then
  # What --check-jar does for one jar, for all jars of DIR at once (one jdeps run), against the
  # modules the runtime really holds (its release file: MODULES plus what they require).
  jdk="${MICROAPP_IMAGE_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
  have=" $(sed -n 's/^MODULES="\(.*\)"$/\1/p' "$rootfs/opt/java/release") "
  [[ "$have" != "  " ]] || die "$rootfs/opt/java/release lists no MODULES"
  tmp_jdeps="$(mktemp -d)"
  trap 'rm -rf "$tmp_jdeps"' EXIT
  cp "${jars[@]/#/$lib_dir/}" "$tmp_jdeps/"
  # as in build-runtime.sh: a module-info.class would make jdeps treat a jar as that module
  for j in "${jars[@]}"; do python3 "$here/imagetool.py" strip-module-info "$tmp_jdeps/$j"; done
  needed="$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 17 \
    --class-path "$tmp_jdeps/*" "${jars[@]/#/$tmp_jdeps/}")" || die "jdeps failed on the jars in $lib_dir"
  missing=()
  for m in ${needed//,/ }; do
    if [[ " ${unused[*]} " == *" $m "* ]]; then
      echo "build-image: the jars refer to $m, which --unused-module says they never load" >&2
    elif [[ "$have" != *" $m "* ]]; then
      missing+=("$m")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] || die "the jars in $lib_dir need JDK modules the runtime lacks: ${missing[*]}; add them to MODULES in $here/build-runtime.sh (every image's base changes), or name them with --unused-module if the code that needs them never runs"
  echo "build-image: the ${#jars[@]} jars in $lib_dir need $needed: all in the runtime" >&2
fi
runtime="$(dirname "$rootfs")"
java_version="$(cat "$runtime/java-version.txt")"
packages="$(while read -r p; do
  printf '%s %s, ' "$p" "$(sed -n 's/^Version: //p' "$rootfs/var/lib/dpkg/status.d/$p")"
done < "$runtime/packages.txt")"

mkdir -p "$(dirname "$output")"
python3 "$here/imagetool.py" image \
  --rootfs "$rootfs" \
  "${adds[@]}" \
  --tag "$tag" \
  --entrypoint "$entrypoint" \
  --cmd "$cmd" \
  --user 10001:10001 \
  --workdir / \
  --env PATH=/opt/java/bin:/usr/bin:/bin \
  --env JAVA_HOME=/opt/java \
  --env LANG=C.UTF-8 \
  "${envs[@]}" \
  --label "org.opencontainers.image.title=$title" \
  --label "org.opencontainers.image.description=$description" \
  --label "org.opencontainers.image.version=${tag##*:}" \
  --label "org.opencontainers.image.source=https://github.com/safedefaults/microapp-operator" \
  --label "org.opencontainers.image.base.name=scratch" \
  --base-history "e2e/images/build-runtime.sh: Java $java_version (jlink), Debian ${packages%, }" \
  "${expose[@]}" \
  --output "$output"
echo "build-image: $output ($(du -m "$output" | cut -f1) MB) in $((SECONDS - started)) s" >&2
