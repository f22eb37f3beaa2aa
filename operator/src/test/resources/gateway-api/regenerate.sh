#!/usr/bin/env bash
# Copies the Gateway API standard-channel CRDs the operator uses (Gateway, HTTPRoute, and the
# GatewayClass a Gateway names) from the Go module sigs.k8s.io/gateway-api at
# GATEWAY_API_CRDS_VERSION (e2e/control-plane/versions.env, the one place the version is pinned)
# into this directory, for the tests against a real kube-apiserver. Needs go and the Go module
# proxy, or a module cache that holds the version (go mod download answers from the cache first);
# the tests themselves only read the copies.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../../.." && pwd)"
# shellcheck source=/dev/null
source "$repo/e2e/control-plane/versions.env"
v="${GATEWAY_API_CRDS_VERSION:?GATEWAY_API_CRDS_VERSION is not set in e2e/control-plane/versions.env}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@v$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$src/config/crd/standard" ]] || { echo "regenerate: no config/crd/standard in sigs.k8s.io/gateway-api@v$v" >&2; exit 1; }
for crd in gateway.networking.k8s.io_gatewayclasses.yaml gateway.networking.k8s.io_gateways.yaml \
    gateway.networking.k8s.io_httproutes.yaml; do
  {
    echo "# sigs.k8s.io/gateway-api@v$v config/crd/standard/$crd, unchanged below this header."
    echo "# Regenerate with operator/src/test/resources/gateway-api/regenerate.sh (version: e2e/control-plane/versions.env)."
    cat "$src/config/crd/standard/$crd"
  } > "$here/$crd"
  echo "regenerate: $crd from gateway-api v$v"
done
