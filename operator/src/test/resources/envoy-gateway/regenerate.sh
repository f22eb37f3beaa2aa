#!/usr/bin/env bash
# Envoy Gateway's BackendTrafficPolicy CRD (gateway.envoyproxy.io/v1alpha1), which the operator writes per
# app with --gateway-edge-limits envoy-gateway, from github.com/envoyproxy/gateway at ENVOY_GATEWAY_VERSION
# (e2e/control-plane/versions.env).
exec "$(dirname "$0")/../copy-crds.sh" envoy-gateway ENVOY_GATEWAY_VERSION github.com/envoyproxy/gateway \
  charts/gateway-helm/charts/crds/crds/generated gateway.envoyproxy.io_backendtrafficpolicies.yaml
