#!/usr/bin/env bash
# Imports image archives (OCI layout or docker-archive, e.g. from e2e/images/build-image.sh) into
# the running node's containerd, where the kubelet finds them:
#
#   e2e/node/load-images.sh ARCHIVE...
#
# No registry is reachable from the node: every image a pod uses must be imported, under a fully
# qualified name (ghcr.io/...; a bare name means docker.io/...), and pods should say
# imagePullPolicy: IfNotPresent or Never (":latest" tags default to Always, which fails).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
(($# > 0)) || { echo "usage: $0 ARCHIVE..." >&2; exit 2; }
[[ -f "$NODE_MARKER" ]] || { echo "load-images: no node is running on this host (e2e/node/up.sh)" >&2; exit 1; }
read -r name state <"$NODE_MARKER"
CONTROL_PLANE_STATE_DIR="$(dirname "$state")" cp_init "$name"
node_dirs
[[ -S "$CTRD_SOCK" ]] || { echo "load-images: node '$name' has no containerd socket at $CTRD_SOCK" >&2; exit 1; }
for a in "$@"; do
  [[ -f "$a" ]] || { echo "load-images: $a not found" >&2; exit 1; }
  node_ctr images import "$a" | sed 's/^/load-images: /'
done
