#!/usr/bin/env bash
# Builds everything the node runs, each step a fast no-op when already built:
#   1. kubelet, kube-scheduler, kube-proxy (and the control plane) - e2e/control-plane/build.sh --node
#   2. CoreDNS, kube-router, cert-manager, nettest                  - build-addons.sh
#   3. the pause, CoreDNS and nettest images (OCI archives)         - build-images.sh
# Versions: e2e/control-plane/versions.env. Output under $KUBE_API_TEST_DIR (~/.kubeapitest).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../control-plane/build.sh" --node
"$here/build-addons.sh"
"$here/build-images.sh"
