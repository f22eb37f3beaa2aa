#!/usr/bin/env bash
# Publishes a release to an OCI registry: both image archives, then the chart pinned to their
# digests. The release workflow runs it against ghcr.io; release/dry-run.sh runs the very same
# script against a registry on 127.0.0.1.
#
#   release/publish.sh --registry HOST/NAMESPACE --output DIR [--plain-http] \
#       [--operator-archive TAR] [--sidecar-archive TAR]
#
#   --registry       where the images and the chart go: HOST/NAMESPACE/microapp-operator,
#                    HOST/NAMESPACE/microapp-sidecar and HOST/NAMESPACE/charts/microapp-operator
#                    (ghcr.io/safedefaults in the release)
#   --plain-http     HTTP instead of HTTPS (the dry run's loopback registry only)
#   *-archive        the archives the build wrote (default operator/target/microapp-operator-image.tar,
#                    sidecar/target/microapp-sidecar-image.tar)
#
# Logs in to nothing: run `oras login` and `helm registry login` first (the workflow does, with
# its GITHUB_TOKEN). Tools: oras and helm from PATH or $ORAS/$HELM (release/tools.sh, build-helm.sh).
#
# Each image archive is an OCI layout (e2e/images/imagetool.py) whose manifest digest is fixed by
# the build; oras copies that manifest byte for byte, and the script fails unless the registry
# then answers with the same digest for the tag. The chart is pinned to those digests
# (release/pin-chart.sh), packaged and pushed; the pushed chart is pulled back and rendered again.
#
# Writes DIR/release.env (VERSION, OPERATOR_IMAGE, SIDECAR_IMAGE, CHART, CHART_DIGEST: every
# reference by digest, what the workflow signs and attests) and DIR/microapp-operator-VERSION.tgz.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
die() { echo "publish: ERROR: $*" >&2; exit 1; }
log() { echo "publish: $*" >&2; }

registry="" output="" plain_http=false
operator_archive="$root/operator/target/microapp-operator-image.tar"
sidecar_archive="$root/sidecar/target/microapp-sidecar-image.tar"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plain-http) plain_http=true; shift; continue ;;
  esac
  [[ $# -ge 2 ]] || die "$1 needs a value"
  case "$1" in
    --registry) registry="$2" ;;
    --output) output="$2" ;;
    --operator-archive) operator_archive="$2" ;;
    --sidecar-archive) sidecar_archive="$2" ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
  shift 2
done
[[ "$registry" =~ ^[a-z0-9.:-]+(/[a-z0-9._-]+)+$ ]] || die "--registry must be HOST/NAMESPACE in lower case, got '$registry'"
[[ -n "$output" ]] || die "--output is required"
oras="${ORAS:-$(command -v oras || true)}"
helm="${HELM:-$(command -v helm || true)}"
[[ -x "$oras" ]] || die "oras not found: release/tools.sh oras, then put it on PATH or set ORAS"
[[ -x "$helm" ]] || die "helm not found: e2e/control-plane/build-helm.sh, then put it on PATH or set HELM"
oras_http=() oras_cp_http=() helm_http=()
if $plain_http; then
  [[ "$registry" =~ ^(127\.[0-9.]+|localhost)(:[0-9]+)?/ ]] || die "--plain-http is for a registry on this machine only"
  oras_http=(--plain-http) oras_cp_http=(--to-plain-http) helm_http=(--plain-http)
fi

"$here/version.sh" check >&2
version="$(tr -d '[:space:]' < "$root/VERSION")"
mkdir -p "$output"
output="$(cd "$output" && pwd)"

# The manifest digest an archive's OCI layout gives for the version's tag, with the manifest's
# own bytes checked against it.
archive_digest() {
  local archive="$1" want_name="$2" index digest
  [[ -f "$archive" ]] || die "$archive not found: build it first (mvn -B -DskipTests package)"
  index="$(tar -xOf "$archive" index.json)" || die "$archive has no index.json: not an OCI layout"
  digest="$(python3 - "$version" "$want_name" "$index" <<'PY'
import json, sys
version, name = sys.argv[1], sys.argv[2]
index = json.loads(sys.argv[3])
hits = [m for m in index.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == version]
if len(hits) != 1:
    sys.exit(f"the archive's index.json has {len(hits)} manifests tagged {version}, expected 1")
m = hits[0]
if m.get("annotations", {}).get("io.containerd.image.name") != f"{name}:{version}":
    sys.exit(f"the archive is {m.get('annotations', {}).get('io.containerd.image.name')}, expected {name}:{version}")
if m.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
    sys.exit(f"unexpected manifest type {m.get('mediaType')}")
print(m["digest"])
PY
)" || die "$archive: see above"
  [[ "$digest" =~ ^sha256:[a-f0-9]{64}$ ]] || die "$archive: bad digest '$digest'"
  local actual
  actual="sha256:$(tar -xOf "$archive" "blobs/sha256/${digest#sha256:}" | sha256sum | cut -d' ' -f1)"
  [[ "$actual" == "$digest" ]] || die "$archive: the manifest's bytes hash to $actual, the index says $digest"
  echo "$digest"
}

push_image() {
  local archive="$1" name="$2" digest ref pushed
  digest="$(archive_digest "$archive" "ghcr.io/safedefaults/$name")"
  ref="$registry/$name"
  log "$name: $archive is $digest; pushing to $ref:$version"
  "$oras" cp "${oras_cp_http[@]}" --from-oci-layout "$archive:$version" "$ref:$version" >&2
  pushed="$("$oras" resolve "${oras_http[@]}" "$ref:$version")"
  [[ "$pushed" == "$digest" ]] || die "$ref:$version resolves to $pushed, but the build wrote $digest"
  echo "$ref@$digest"
}

operator_ref="$(push_image "$operator_archive" microapp-operator)"
sidecar_ref="$(push_image "$sidecar_archive" microapp-sidecar)"

chart_dir="$output/chart"
HELM="$helm" "$here/pin-chart.sh" --operator-image "$operator_ref" --sidecar-image "$sidecar_ref" --output "$chart_dir"
rm -f "$output/microapp-operator-$version.tgz"
"$helm" package "$chart_dir/microapp-operator" --destination "$output" >&2
package="$output/microapp-operator-$version.tgz"
[[ -f "$package" ]] || die "helm package wrote no $package"

log "pushing the chart to oci://$registry/charts"
push_out="$("$helm" push "$package" "oci://$registry/charts" "${helm_http[@]}" 2>&1)" || { echo "$push_out" >&2; die "helm push failed"; }
echo "$push_out" >&2
chart_digest="$(sed -n 's/^Digest: \(sha256:[a-f0-9]\{64\}\)$/\1/p' <<<"$push_out")"
[[ -n "$chart_digest" ]] || die "helm push printed no digest"
chart_repo="$registry/charts/microapp-operator"
resolved="$("$oras" resolve "${oras_http[@]}" "$chart_repo:$version")"
[[ "$resolved" == "$chart_digest" ]] || die "$chart_repo:$version resolves to $resolved, helm push said $chart_digest"

# What a user gets: pull the published chart back and render it.
pulled="$output/pulled"
rm -rf "$pulled"
mkdir -p "$pulled"
"$helm" pull "oci://$chart_repo" --version "$version" --destination "$pulled" "${helm_http[@]}" >&2
cmp -s "$package" "$pulled/microapp-operator-$version.tgz" || die "the chart pulled back differs from the one pushed"
rendered="$("$helm" template microapp-operator "$pulled/microapp-operator-$version.tgz" --namespace microapp-system)"
grep -qF "image: \"$operator_ref\"" <<<"$rendered" || die "the published chart does not deploy $operator_ref"
grep -qF "value: \"$sidecar_ref\"" <<<"$rendered" || die "the published chart does not inject $sidecar_ref"

cat > "$output/release.env" <<EOF
VERSION=$version
OPERATOR_IMAGE=$operator_ref
SIDECAR_IMAGE=$sidecar_ref
CHART=oci://$chart_repo
CHART_DIGEST=$chart_digest
CHART_PACKAGE=$package
EOF
log "published $version:"
sed 's/^/  /' "$output/release.env" >&2
