#!/usr/bin/env bash
# The release version lives in one place, the file VERSION at the top of the repository. Every
# other place that has to carry it is checked against it here:
#
#   release/version.sh check [--tag vX.Y.Z] [--release] [--operator-jar JAR] [--sidecar-jar JAR]
#   release/version.sh set X.Y.Z
#
# check (the parent pom runs it in its validate phase, so `mvn verify` fails on drift):
#   - the version of the parent pom and the parent version of every module pom;
#   - the image tags the build writes (operator.image, sidecar.image in the module poms);
#   - Chart.yaml version and appVersion; values.yaml: the operator image takes appVersion (tag
#     empty), the sidecar image's tag, both repositories, and no digest (digests are set only in
#     the chart a release publishes: release/pin-chart.sh);
#   - every mention of the version in any tracked file but CHANGELOG.md (docs, goldens, tests, the
#     Java defaults): the project's images by tag on any registry, image archives' layout tags, the
#     chart package's name, `charts/microapp-operator --version X`, the programs' --version strings;
#   - --release: CHANGELOG.md has a dated section for the version; --tag: the tag is v<VERSION>;
#   - --operator-jar/--sidecar-jar: what the built programs say (--version, and the default
#     sidecar image in what `render` writes for an example app), i.e. what the images will run.
#
# set: writes the new version to VERSION and every place above that is not Java source, and
# (for a new version) moves project.build.outputTimestamp (reproducible jars) to today; then runs check, which names
# the Java lines still to change by hand (Java sources are edited by people, never by this script).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
die() { echo "version: ERROR: $*" >&2; exit 2; }
values() { python3 "$root/release/chartvalues.py" "$@"; }

semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
registry=ghcr.io/safedefaults
# How the version appears in free text: an image of the project by tag (any registry), an image
# archive's layout tag, the chart's package name, `--version` of the published chart, and the
# programs' picocli version strings.
ver='[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]*[0-9A-Za-z])?'
mentions="/microapp-(operator|sidecar):$ver|microapp-(operator|sidecar)-image\.tar:$ver|microapp-operator-$ver\.tgz|charts/microapp-operator --version $ver|\"microapp-(operator|sidecar) $ver"
chart=helm/microapp-operator
poms=(pom.xml kms/pom.xml operator/pom.xml sidecar/pom.xml e2e/pom.xml)

# The first <version> of a pom: the project's own in the parent, the parent's in a module.
first_pom_version() { sed -n 's:^[[:space:]]*<version>\([^<]*\)</version>.*:\1:p' "$1" | head -1; }
pom_property() { sed -n "s:^[[:space:]]*<$2>\\([^<]*\\)</$2>.*:\\1:p" "$1" | head -1; }

# Tracked text files (or every file outside target/ when this is no git checkout).
tracked_grep() {
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" grep -nIE "$1" -- . ':(exclude)CHANGELOG.md' || true
  else
    grep -rnIE --exclude-dir=target --exclude-dir=.git --exclude=CHANGELOG.md "$1" . | sed 's:^\./::' || true
  fi
}

problems=()
problem() { problems+=("$1"); }

check() {
  local tag="" release=false operator_jar="" sidecar_jar=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; tag="$2"; shift 2 ;;
      --release) release=true; shift ;;
      --operator-jar) [[ $# -ge 2 ]] || die "--operator-jar needs a value"; operator_jar="$2"; shift 2 ;;
      --sidecar-jar) [[ $# -ge 2 ]] || die "--sidecar-jar needs a value"; sidecar_jar="$2"; shift 2 ;;
      *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
    esac
  done
  [[ -f VERSION ]] || die "VERSION is missing"
  local v
  v="$(tr -d '[:space:]' < VERSION)"
  [[ "$v" =~ $semver ]] || die "VERSION holds '$v', not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE])"

  local pom got
  for pom in "${poms[@]}"; do
    got="$(first_pom_version "$pom")"
    [[ "$got" == "$v" ]] || problem "$pom: version $got, VERSION says $v"
  done
  got="$(pom_property operator/pom.xml operator.image)"
  [[ "$got" == "$registry/microapp-operator:$v" ]] || problem "operator/pom.xml: operator.image is $got, expected $registry/microapp-operator:$v"
  got="$(pom_property sidecar/pom.xml sidecar.image)"
  [[ "$got" == "$registry/microapp-sidecar:$v" ]] || problem "sidecar/pom.xml: sidecar.image is $got, expected $registry/microapp-sidecar:$v"

  got="$(values get "$chart/Chart.yaml" version)"
  [[ "$got" == "$v" ]] || problem "$chart/Chart.yaml: version $got, VERSION says $v"
  got="$(values get "$chart/Chart.yaml" appVersion)"
  [[ "$got" == "$v" ]] || problem "$chart/Chart.yaml: appVersion $got, VERSION says $v"
  local key want
  for key in image.repository:$registry/microapp-operator image.tag: image.digest: \
             sidecar.image.repository:$registry/microapp-sidecar sidecar.image.tag:$v sidecar.image.digest:; do
    want="${key#*:}"; key="${key%%:*}"
    got="$(values get "$chart/values.yaml" "$key")"
    [[ "$got" == "$want" ]] || problem "$chart/values.yaml: $key is '$got', expected '$want'"
  done

  # Free text (docs, goldens, tests, the Java defaults): every mention of the version in one of the
  # forms of $mentions must be VERSION (the last version-shaped word of each match).
  local line ref
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    while read -r ref; do
      [[ -n "$ref" ]] || continue
      local found
      found="$(grep -oE "$ver" <<<"${ref%.tgz}" | tail -1)"
      [[ "$found" == "$v" ]] || problem "${line%%:*}:$(cut -d: -f2 <<<"$line"): '$ref', VERSION says $v"
    done < <(grep -oE "$mentions" <<<"${line#*:*:}")
  done < <(tracked_grep "$mentions")

  if $release; then
    grep -qE "^## \[$v\] - [0-9]{4}-[0-9]{2}-[0-9]{2}\$" CHANGELOG.md \
      || problem "CHANGELOG.md: no section '## [$v] - YYYY-MM-DD' (move the Unreleased entries there)"
  fi
  if [[ -n "$tag" && "$tag" != "v$v" ]]; then
    problem "the tag is $tag, VERSION says $v: tag v$v"
  fi

  if [[ -n "$operator_jar" ]]; then
    [[ -f "$operator_jar" ]] || die "$operator_jar not found"
    got="$(java -jar "$operator_jar" --version 2>&1 | head -1)"
    [[ "$got" == "microapp-operator $v" ]] || problem "$operator_jar --version: '$got', expected 'microapp-operator $v'"
    # The sidecar image an app gets when the chart sets none: the operator's own rendering of an
    # example app (its pod's sidecar and its purge job), offline.
    local rendered
    rendered="$(env -u MICROAPP_SIDECAR_IMAGE java -jar "$operator_jar" render -f examples/where2eat.yaml 2>&1)" \
      || problem "$operator_jar render -f examples/where2eat.yaml failed: $(tail -1 <<<"$rendered")"
    got="$(grep -oE "image: \"?$registry/microapp-sidecar:[^\" ]+" <<<"$rendered" | sed -E 's/^image: "?//' | sort -u | tr '\n' ' ')"
    [[ "$got" == "$registry/microapp-sidecar:$v " ]] \
      || problem "$operator_jar render: the default sidecar image is '${got% }', expected $registry/microapp-sidecar:$v"
  fi
  if [[ -n "$sidecar_jar" ]]; then
    [[ -f "$sidecar_jar" ]] || die "$sidecar_jar not found"
    got="$(java -jar "$sidecar_jar" --version 2>&1 | head -1)"
    [[ "$got" == "microapp-sidecar $v" ]] || problem "$sidecar_jar --version: '$got', expected 'microapp-sidecar $v'"
  fi

  if [[ ${#problems[@]} -gt 0 ]]; then
    echo "version: ${#problems[@]} place(s) disagree with VERSION ($v):" >&2
    printf '  %s\n' "${problems[@]}" >&2
    echo "version: release/version.sh set $v rewrites all but Java sources; change those by hand" >&2
    exit 1
  fi
  echo "version: $v everywhere${tag:+ (tag $tag)}${operator_jar:+, operator jar}${sidecar_jar:+, sidecar jar}"
}

set_version() {
  [[ $# -eq 1 ]] || die "usage: release/version.sh set X.Y.Z"
  local new="$1" old
  [[ "$new" =~ $semver ]] || die "'$new' is not a semantic version"
  old="$(tr -d '[:space:]' < VERSION)"
  local oldre="${old//./\\.}"
  printf '%s\n' "$new" > VERSION
  local pom
  for pom in "${poms[@]}"; do
    # only the first <version> of each pom (the project's, or its parent's)
    sed -i "0,/<version>[^<]*<\\/version>/s//<version>$new<\\/version>/" "$pom"
  done
  if [[ "$new" != "$old" ]]; then
    # a new version is new bytes: its jars (and so its images) carry the day it was set
    sed -i "s|<project.build.outputTimestamp>[^<]*<|<project.build.outputTimestamp>$(date -u +%Y-%m-%dT00:00:00Z)<|" pom.xml
  fi
  values set "$chart/Chart.yaml" version "$new"
  values set "$chart/Chart.yaml" appVersion "$new"
  values set "$chart/values.yaml" sidecar.image.tag "$new"
  # every other tracked, non-Java mention of the images' tag or the chart version
  local f
  while IFS= read -r f; do
    [[ "$f" == *.java ]] && continue
    sed -i -E "s#(/microapp-(operator|sidecar)|microapp-(operator|sidecar)-image\\.tar):$oldre\\b#\\1:$new#g
               s#(microapp-operator)-$oldre\\.tgz#\\1-$new.tgz#g
               s#(charts/microapp-operator --version) $oldre\\b#\\1 $new#g" "$f"
  done < <(tracked_grep "$mentions" | grep -F "$old" | cut -d: -f1 | sort -u)
  echo "version: $old -> $new written; checking (Java sources are left to you):" >&2
  check
}

case "${1:-check}" in
  check) shift || true; check "$@" ;;
  set) shift; set_version "$@" ;;
  *) die "usage: release/version.sh check [--tag vX.Y.Z] [--release] [--operator-jar JAR] [--sidecar-jar JAR] | set X.Y.Z" ;;
esac
