#!/usr/bin/env bash
# Builds nsmithuk/local-kms (an AWS KMS test double speaking the KMS JSON API) of the pinned
# pseudo-version (LOCAL_KMS_VERSION in versions.env) from the Go module proxy into
#   $KUBE_API_TEST_DIR/bin/local-kms   (default ~/.kubeapitest/bin/local-kms)
# A no-op when that binary was built from the pinned version (stamp file next to it).
#
#   e2e/control-plane/build-local-kms.sh    # prints the path of the binary last
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${LOCAL_KMS_VERSION:?LOCAL_KMS_VERSION missing from versions.env}"

KUBE_API_TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
bindir="$KUBE_API_TEST_DIR/bin"
bin="$bindir/local-kms"
stamp="local-kms=$LOCAL_KMS_VERSION"

if [[ -x "$bin" && "$(cat "$bin.stamp" 2>/dev/null)" == "$stamp" ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-local-kms.sh: Go is needed to build local-kms $LOCAL_KMS_VERSION" >&2; exit 1; }

# local-kms has no replace directives, so `go install pkg@version` builds it with exactly the
# dependency versions of its own go.mod, verified against the checksum database via go.sum.
export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-buildvcs=false"
mkdir -p "$bindir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "building local-kms $LOCAL_KMS_VERSION from the Go module proxy ..." >&2
t0=$SECONDS
GOBIN="$tmp" go install -p "${CONTROL_PLANE_BUILD_JOBS:-2}" -trimpath -ldflags "-s -w" \
  "github.com/nsmithuk/local-kms@$LOCAL_KMS_VERSION"
mv "$tmp/local-kms" "$bin"
echo "$stamp" > "$bin.stamp"
echo "built local-kms in $((SECONDS - t0))s" >&2
echo "$bin"
