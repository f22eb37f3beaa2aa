#!/usr/bin/env bash
# Builds the helm CLI of the pinned version (HELM_VERSION in versions.env) from
# the Go module proxy -- no release downloads -- into
#   $KUBE_API_TEST_DIR/bin/helm        (default ~/.kubeapitest/bin/helm)
# A no-op when that binary already reports the pinned version.
#
#   e2e/control-plane/build-helm.sh    # prints the path of the helm binary last
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${HELM_VERSION:?HELM_VERSION missing from versions.env}"

KUBE_API_TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
bindir="$KUBE_API_TEST_DIR/bin"
helm="$bindir/helm"
want="v$HELM_VERSION"

if [[ -x "$helm" ]] && [[ "$("$helm" version --template '{{.Version}}' 2>/dev/null)" == "$want" ]]; then
  echo "$helm"
  exit 0
fi

command -v go >/dev/null || { echo "build-helm.sh: Go is needed to build helm $want" >&2; exit 1; }

# helm.sh/helm/v3 has no replace directives, so `go install pkg@version` builds it
# with exactly the dependency versions of its own go.mod (reproducible, verified
# against the checksum database via go.sum).
export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-buildvcs=false"
modfile="$(go mod download -json "helm.sh/helm/v3@$want" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$modfile" ]] || { echo "build-helm.sh: could not resolve helm.sh/helm/v3@$want" >&2; exit 1; }

# The same ldflags as helm's Makefile: release version, and the Kubernetes
# version `helm template`/`helm lint` assume (client-go v0.X.Y -> 1.X).
client_go="$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$modfile")"
kminor="$(echo "$client_go" | cut -d. -f2)"
ld="-s -w"
ld+=" -X helm.sh/helm/v3/internal/version.version=$want"
ld+=" -X helm.sh/helm/v3/internal/version.metadata="
ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ld+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kminor"
done

mkdir -p "$bindir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "building helm $want (client-go $client_go) from the Go module proxy ..." >&2
t0=$SECONDS
GOBIN="$tmp" go install -p "${CONTROL_PLANE_BUILD_JOBS:-2}" -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$want"
mv "$tmp/helm" "$helm"
echo "built helm $("$helm" version --short) in $((SECONDS - t0))s" >&2
echo "$helm"
