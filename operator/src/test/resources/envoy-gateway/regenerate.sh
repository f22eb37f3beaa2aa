#!/usr/bin/env bash
# Copies Envoy Gateway's BackendTrafficPolicy CRD (gateway.envoyproxy.io/v1alpha1), which the operator
# writes per app with --gateway-edge-limits envoy-gateway, from the Go module github.com/envoyproxy/gateway
# at ENVOY_GATEWAY_VERSION (e2e/control-plane/versions.env, the one place the version is pinned) into this
# directory, for the tests against a real kube-apiserver. Needs go and the Go module proxy, or a module
# cache that holds the version; the tests themselves only read the copy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../../.." && pwd)"
# shellcheck source=/dev/null
source "$repo/e2e/control-plane/versions.env"
v="${ENVOY_GATEWAY_VERSION:?ENVOY_GATEWAY_VERSION is not set in e2e/control-plane/versions.env}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "github.com/envoyproxy/gateway@v$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
dir="charts/gateway-helm/charts/crds/crds/generated"
crd="gateway.envoyproxy.io_backendtrafficpolicies.yaml"
[[ -f "$src/$dir/$crd" ]] || { echo "regenerate: no $dir/$crd in github.com/envoyproxy/gateway@v$v" >&2; exit 1; }
{
  echo "# github.com/envoyproxy/gateway@v$v $dir/$crd, unchanged below this header."
  echo "# Regenerate with operator/src/test/resources/envoy-gateway/regenerate.sh (version: e2e/control-plane/versions.env)."
  cat "$src/$dir/$crd"
} > "$here/$crd"
echo "regenerate: $crd from envoy gateway v$v"
