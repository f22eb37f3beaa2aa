#!/usr/bin/env bash
# The Gateway API standard-channel CRDs the operator uses (Gateway, HTTPRoute, and the GatewayClass a
# Gateway names) from sigs.k8s.io/gateway-api at GATEWAY_API_CRDS_VERSION (e2e/control-plane/versions.env).
exec "$(dirname "$0")/../copy-crds.sh" gateway-api GATEWAY_API_CRDS_VERSION sigs.k8s.io/gateway-api \
  config/crd/standard gateway.networking.k8s.io_gatewayclasses.yaml gateway.networking.k8s.io_gateways.yaml \
  gateway.networking.k8s.io_httproutes.yaml
