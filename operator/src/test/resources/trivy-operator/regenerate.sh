#!/usr/bin/env bash
# Copies Trivy Operator's VulnerabilityReport CRD from the Go module github.com/aquasecurity/trivy-operator
# at TRIVY_OPERATOR_VERSION (e2e/control-plane/versions.env, the one place the version is pinned) into
# this directory, for the vulnerability gate's tests against a real kube-apiserver. Needs go and the
# Go module proxy (which serves exact versions of this module but lists none); the tests only read the copy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../../.." && pwd)"
# shellcheck source=/dev/null
source "$repo/e2e/control-plane/versions.env"
v="${TRIVY_OPERATOR_VERSION:?TRIVY_OPERATOR_VERSION is not set in e2e/control-plane/versions.env}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "github.com/aquasecurity/trivy-operator@v$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
crd=aquasecurity.github.io_vulnerabilityreports.yaml
[[ -f "$src/deploy/helm/crds/$crd" ]] || { echo "regenerate: no deploy/helm/crds/$crd in trivy-operator v$v" >&2; exit 1; }
{
  echo "# github.com/aquasecurity/trivy-operator@v$v deploy/helm/crds/$crd, unchanged below this header."
  echo "# Regenerate with operator/src/test/resources/trivy-operator/regenerate.sh (version: e2e/control-plane/versions.env)."
  cat "$src/deploy/helm/crds/$crd"
} > "$here/$crd"
echo "regenerate: $crd from trivy-operator v$v"
