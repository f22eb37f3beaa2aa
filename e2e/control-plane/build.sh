#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd of the pinned
# release from the Go module proxy (no Docker, no release downloads here).
# Binaries land where Fabric8 kube-api-test looks in offline mode:
#   $KUBE_API_TEST_DIR/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kubectl,kube-controller-manager}
# A second run with the binaries present returns in well under a second.
#
#   build.sh          the control plane (what kube-api-test and up.sh need)
#   build.sh --node   also kubelet, kube-scheduler and kube-proxy for a real node (e2e/node), from
#                     the same wrapper module and with the same version stamping
set -euo pipefail
node=0
case "${1:-}" in
  --node) node=1 ;;
  "") ;;
  *) echo "usage: $0 [--node]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

KUBE_API_TEST_DIR="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
out="$KUBE_API_TEST_DIR/k8s/${KUBE_VERSION}-linux-amd64"
bins=(etcd kube-apiserver kube-controller-manager kubectl)

stamp="k8s=$KUBE_VERSION etcd=$ETCD_VERSION loopback-etcd=1"
have_all() {
  for b in "${bins[@]}" etcd.bin; do [[ -x "$out/$b" ]] || return 1; done
  [[ "$(cat "$out/.stamp" 2>/dev/null)" == "$stamp" ]]
}

# Fabric8 kube-api-test starts etcd with --listen-client-urls http://0.0.0.0:PORT, which would
# expose an unauthenticated etcd on every interface. The `etcd` it finds is this wrapper: it
# rewrites 0.0.0.0 to 127.0.0.1 and runs the real binary, so nothing listens beyond loopback.
install_etcd_wrapper() {
  cat > "$out/etcd" <<'WRAP'
#!/usr/bin/env bash
set -euo pipefail
args=()
for a in "$@"; do args+=("${a//0.0.0.0/127.0.0.1}"); done
exec "$(dirname "$0")/etcd.bin" "${args[@]}"
WRAP
  chmod +x "$out/etcd"
}

# Builds from before the wrapper existed: keep the binary, add the wrapper.
if [[ -x "$out/etcd" && ! -e "$out/etcd.bin" ]] && head -c 4 "$out/etcd" | grep -q ELF; then
  mv "$out/etcd" "$out/etcd.bin"
fi
if [[ -x "$out/etcd.bin" && -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kubectl" \
      && "$(cat "$out/.stamp" 2>/dev/null)" == "k8s=$KUBE_VERSION etcd=$ETCD_VERSION"* ]]; then
  install_etcd_wrapper
  echo "$stamp" > "$out/.stamp"
fi
# The node's binaries carry their own stamp, so the control plane's stays what kube-api-test
# setups already have.
node_bins=(kubelet kube-scheduler kube-proxy)
node_stamp="k8s=$KUBE_VERSION node=1"
have_node() {
  for b in "${node_bins[@]}"; do [[ -x "$out/$b" ]] || return 1; done
  [[ "$(cat "$out/.stamp-node" 2>/dev/null)" == "$node_stamp" ]]
}
if have_all && { ((node == 0)) || have_node; }; then
  echo "control plane v$KUBE_VERSION already built in $out$( ((node)) && echo ' (with the node)')"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is needed (go 1.24 or newer) to build the control plane" >&2; exit 1; }

work="${CONTROL_PLANE_BUILD_DIR:-$KUBE_API_TEST_DIR/build/$KUBE_VERSION}"
mkdir -p "$work" "$out"
cd "$work"

# k8s.io/kubernetes lists its staging modules as v0.0.0 with replaces to
# ./staging/...; a wrapper module pins each of them to the matching v0.x.y.
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
  endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
  kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-cli-plugin sample-controller)
minor="0.${KUBE_VERSION#1.}"
{
  echo "module local/controlplane"
  echo
  echo "go 1.24.0"
  echo
  echo "require ("
  echo "  k8s.io/kubernetes v$KUBE_VERSION"
  echo "  go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
  echo ")"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "  k8s.io/$m => k8s.io/$m v$minor"; done
  echo ")"
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
# The node's packages go in a file of their own, written the first time --node runs and then
# left in place: `go mod tidy` reads every file, so go.mod keeps the node's modules and later
# control-plane-only runs do not drop and re-add them.
if ((node)); then
  cat > tools_node.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
fi

export CGO_ENABLED=0 GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
echo "resolving modules for kubernetes v$KUBE_VERSION / etcd v$ETCD_VERSION ..."
go mod tidy -e >/dev/null 2>tidy.log || { cat tidy.log >&2; exit 1; }

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
kv="v$KUBE_VERSION"; major="${KUBE_VERSION%%.*}"; rest="${KUBE_VERSION#*.}"; kminor="${rest%%.*}"
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $pkg.gitVersion=$kv -X $pkg.gitMajor=$major -X $pkg.gitMinor=$kminor"
  ld+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
par="${CONTROL_PLANE_BUILD_JOBS:-2}"

if ! have_all; then
  go build -p "$par" -trimpath -ldflags "-s -w" -o "$out/etcd.bin" go.etcd.io/etcd/server/v3 && echo "built etcd"
  install_etcd_wrapper
  for b in kube-apiserver kube-controller-manager kubectl; do
    go build -p "$par" -trimpath -ldflags "$ld" -o "$out/$b" "k8s.io/kubernetes/cmd/$b"
    echo "built $b"
  done
  echo "$stamp" > "$out/.stamp"
  "$out/kubectl" version --client
  echo "control plane v$KUBE_VERSION built in $out"
fi
if ((node)) && ! have_node; then
  # Upstream builds these with CGO_ENABLED=0 too (the kubelet's cadvisor works without cgo).
  for b in "${node_bins[@]}"; do
    go build -p "$par" -trimpath -ldflags "$ld" -o "$out/$b" "k8s.io/kubernetes/cmd/$b"
    echo "built $b"
  done
  echo "$node_stamp" > "$out/.stamp-node"
  "$out/kubelet" --version
  echo "node binaries v$KUBE_VERSION built in $out"
fi
