#!/usr/bin/env bash
# The OpenReports CRDs (openreports.io Report and ClusterReport) from github.com/openreports/reports-api
# at OPENREPORTS_VERSION (e2e/control-plane/versions.env, the one place the version is pinned).
exec "$(dirname "$0")/../copy-crds.sh" openreports OPENREPORTS_VERSION github.com/openreports/reports-api config/crd \
  openreports.io_reports.yaml openreports.io_clusterreports.yaml
