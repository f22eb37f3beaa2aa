#!/usr/bin/env bash
# Builds promtool of the pinned version (PROMETHEUS_MODULE_VERSION in versions.env) from the Go
# module proxy -- no release downloads -- into
#   $KUBE_API_TEST_DIR/bin/promtool    (default ~/.kubeapitest/bin/promtool)
# A no-op when that binary already reports the pinned version.
#
#   e2e/control-plane/build-promtool.sh    # prints the path of the promtool binary last
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${PROMETHEUS_MODULE_VERSION:?PROMETHEUS_MODULE_VERSION missing from versions.env}"

KUBE_API_TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
bindir="$KUBE_API_TEST_DIR/bin"
promtool="$bindir/promtool"
module="v$PROMETHEUS_MODULE_VERSION"
# The module's v0.3XX.Y is the release 3.XX.Y (Prometheus tags both): 0.316.0 -> 3.16.0.
minor="$(echo "$PROMETHEUS_MODULE_VERSION" | cut -d. -f2)"
[[ "$minor" =~ ^3[0-9][0-9]$ ]] || { echo "build-promtool.sh: $module is not a Prometheus 3 module version (v0.3XX.Y)" >&2; exit 1; }
release="3.$((10#${minor#3})).$(echo "$PROMETHEUS_MODULE_VERSION" | cut -d. -f3)"

if [[ -x "$promtool" ]] && "$promtool" --version 2>/dev/null | head -n 1 | grep -q "version $release "; then
  echo "$promtool"
  exit 0
fi

command -v go >/dev/null || { echo "build-promtool.sh: Go is needed to build promtool $module" >&2; exit 1; }

# github.com/prometheus/prometheus has no replace directives, so `go install pkg@version` builds
# promtool with exactly the dependency versions of its own go.mod (checked against go.sum).
export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-buildvcs=false"
v=github.com/prometheus/common/version
ld="-s -w -X $v.Version=$release -X $v.Revision=module-$module -X $v.Branch=release -X $v.BuildUser=build-promtool.sh"
mkdir -p "$bindir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "building promtool $release (github.com/prometheus/prometheus $module) from the Go module proxy ..." >&2
t0=$SECONDS
GOBIN="$tmp" go install -p "${CONTROL_PLANE_BUILD_JOBS:-2}" -trimpath -tags netgo -ldflags "$ld" \
  "github.com/prometheus/prometheus/cmd/promtool@$module"
mv "$tmp/promtool" "$promtool"
echo "built $("$promtool" --version 2>&1 | head -n 1) in $((SECONDS - t0))s" >&2
echo "$promtool"
