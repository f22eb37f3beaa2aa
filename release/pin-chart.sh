#!/usr/bin/env bash
# Writes the chart a release publishes: a copy of helm/microapp-operator whose values name the
# published images by digest, so `helm install` pulls exactly the bytes that were built, tested,
# signed and attested, wherever the tags go later.
#
#   release/pin-chart.sh --operator-image REPO@sha256:... --sidecar-image REPO@sha256:... \
#       --output DIR [--helm HELM]
#
# DIR/microapp-operator is the pinned chart. The sidecar reference is what the operator injects
# into every app's pod and purge job (MICROAPP_SIDECAR_IMAGE), so the apps are pinned too.
# Checks before it returns: `helm lint --strict`; `helm template` renders exactly these two
# references and no other image of the project; the chart carries nothing test-only (test hooks,
# the test OIDC provider).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
die() { echo "pin-chart: ERROR: $*" >&2; exit 1; }

operator="" sidecar="" output="" helm="${HELM:-}"
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || die "$1 needs a value"
  case "$1" in
    --operator-image) operator="$2" ;;
    --sidecar-image) sidecar="$2" ;;
    --output) output="$2" ;;
    --helm) helm="$2" ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
  esac
  shift 2
done
digest_ref='^[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[a-f0-9]{64}$'
[[ "$operator" =~ $digest_ref ]] || die "--operator-image must be REPOSITORY@sha256:<64 hex>, got '$operator'"
[[ "$sidecar" =~ $digest_ref ]] || die "--sidecar-image must be REPOSITORY@sha256:<64 hex>, got '$sidecar'"
[[ -n "$output" ]] || die "--output is required"
[[ -n "$helm" ]] || helm="$("$root/e2e/control-plane/build-helm.sh" | tail -1)"
[[ -x "$helm" ]] || die "helm not found at $helm"

src="$root/helm/microapp-operator"
dest="$output/microapp-operator"
rm -rf "$dest"
mkdir -p "$output"
cp -r "$src" "$dest"

values() { python3 "$here/chartvalues.py" "$@"; }
values set "$dest/values.yaml" image.repository "${operator%@*}"
values set "$dest/values.yaml" image.digest "${operator#*@}"
values set "$dest/values.yaml" sidecar.image.repository "${sidecar%@*}"
values set "$dest/values.yaml" sidecar.image.digest "${sidecar#*@}"

# Nothing test-only in what users install.
if find "$dest" -path '*/templates/tests*' | grep -q .; then die "the chart has templates/tests/"; fi
if grep -rnE 'helm\.sh/hook: *"?test|mock-oauth2' "$dest"; then
  die "the chart above mentions test-only components"
fi

"$helm" lint --strict "$dest" >/dev/null || { "$helm" lint --strict "$dest" >&2; die "helm lint --strict failed"; }
rendered="$("$helm" template microapp-operator "$dest" --namespace microapp-system)"
got_operator="$(sed -n 's/^ *image: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' <<<"$rendered" | sort -u)"
[[ "$got_operator" == "$operator" ]] || die "the rendered operator image is '$got_operator', expected $operator"
got_sidecar="$(grep -A1 -- '- name: MICROAPP_SIDECAR_IMAGE' <<<"$rendered" | sed -n 's/^ *value: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p')"
[[ "$got_sidecar" == "$sidecar" ]] || die "the rendered sidecar image is '$got_sidecar', expected $sidecar"
unpinned="$(grep -oE '[a-z0-9.-]+(/[a-z0-9._-]+)+/microapp-(operator|sidecar):[A-Za-z0-9._-]+' <<<"$rendered" | sort -u || true)"
[[ -z "$unpinned" ]] || die "the rendered chart still names images by tag: $unpinned"
echo "pin-chart: $dest pins $operator and $sidecar (lint, template checked)" >&2
