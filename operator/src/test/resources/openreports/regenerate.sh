#!/usr/bin/env bash
# Copies the OpenReports CRDs (openreports.io Report and ClusterReport) from the Go module
# github.com/openreports/reports-api at OPENREPORTS_VERSION (e2e/control-plane/versions.env, the one
# place the version is pinned) into this directory, for the tests against a real kube-apiserver.
# Needs go and the Go module proxy; the tests themselves only read the copies.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../../.." && pwd)"
# shellcheck source=/dev/null
source "$repo/e2e/control-plane/versions.env"
v="${OPENREPORTS_VERSION:?OPENREPORTS_VERSION is not set in e2e/control-plane/versions.env}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "github.com/openreports/reports-api@v$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$src/config/crd" ]] || { echo "regenerate: no config/crd in github.com/openreports/reports-api@v$v" >&2; exit 1; }
for crd in openreports.io_reports.yaml openreports.io_clusterreports.yaml; do
  {
    echo "# github.com/openreports/reports-api@v$v config/crd/$crd, unchanged below this header."
    echo "# Regenerate with operator/src/test/resources/openreports/regenerate.sh (version: e2e/control-plane/versions.env)."
    cat "$src/config/crd/$crd"
  } > "$here/$crd"
  echo "regenerate: $crd from reports-api v$v"
done
