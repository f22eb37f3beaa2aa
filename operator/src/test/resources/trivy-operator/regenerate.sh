#!/usr/bin/env bash
# Trivy Operator's VulnerabilityReport CRD from github.com/aquasecurity/trivy-operator at
# TRIVY_OPERATOR_VERSION (e2e/control-plane/versions.env; the Go module proxy serves exact versions of this
# module but lists none).
exec "$(dirname "$0")/../copy-crds.sh" trivy-operator TRIVY_OPERATOR_VERSION github.com/aquasecurity/trivy-operator \
  deploy/helm/crds aquasecurity.github.io_vulnerabilityreports.yaml
