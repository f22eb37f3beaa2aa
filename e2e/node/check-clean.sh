#!/usr/bin/env bash
# Verifies that no node runs and that nothing a node changes on the host is left over; exit 1
# naming each leftover, one per line. down.sh runs it at the end.
#
#   e2e/node/check-clean.sh [--saved FILE]
#
# With --saved (the host.saved that up.sh wrote) it also compares the sysctls and the nftables
# tables with what they were before the node started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
saved=""
if [[ "${1:-}" == --saved ]]; then saved="${2:?--saved needs a file}"; fi

left=()
leftover() { left+=("$*"); }

# processes: the node's binaries, and containerd or its shims with a node's config or socket
kbin="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64"
for d in /proc/[0-9]*; do
  exe="$(readlink "$d/exe" 2>/dev/null)" || continue
  cmd="$( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null)" || continue
  case "$exe" in
    "$kbin/kubelet"|"$kbin/kube-proxy"|"$kbin/kube-scheduler"|"$NODE_ADDONS"/*) leftover "process ${d#/proc/}: $cmd" ;;
  esac
  [[ "$cmd" == *containerd* && "$cmd" == */node/containerd/* ]] && leftover "process ${d#/proc/}: $cmd"
done

# iptables chains and jumps of kube-proxy, CNI, kube-router and the node's own guard
for save in iptables-save ip6tables-save; do
  command -v "$save" >/dev/null || continue
  while read -r l; do leftover "$save: $l"; done < <("$save" 2>/dev/null | grep -E '^:(KUBE-|CNI-|MICROAPP-)|-[jg] (KUBE-|CNI-|MICROAPP-)' | cut -c1-120 | head -20)
done
if command -v ipset >/dev/null; then
  while read -r s; do leftover "ipset $s"; done < <(ipset list -n 2>/dev/null | grep -E "$NODE_IPSET_RE")
fi
if [[ -n "$saved" ]] && command -v nft >/dev/null; then
  while read -r _ fam name; do
    grep -qx "nft-table $fam $name" "$saved" || leftover "nftables table $fam $name (not there before the node)"
  done < <(nft list tables 2>/dev/null)
fi

# network: bridge, veths, node IP, routes, network namespaces of the pods
grep -qE ": ($BRIDGE|cni0)[:@]" <<<"$(ip -o link show type bridge 2>/dev/null)" && leftover "bridge $BRIDGE"
# the bridge plugin's host-side names: veth + 8 hex digits
while read -r l; do leftover "veth $l"; done < <(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^veth[0-9a-f]{8}$')
if grep -q " $NODE_IP/32 " <<<"$(ip -o addr show dev lo)"; then
  if [[ -z "$saved" ]] || ! grep -qx lo-alias-existed "$saved"; then leftover "address $NODE_IP on lo"; fi
fi
[[ -n "$(ip route show "$SERVICE_CIDR" 2>/dev/null)" ]] && leftover "route $SERVICE_CIDR"
grep -q "^unreachable $CLUSTER_CIDR" <<<"$(ip route show type unreachable 2>/dev/null)" && leftover "route unreachable $CLUSTER_CIDR"

# mounts: pod network namespaces, container root filesystems, kubelet volumes, anything of a node
while read -r m; do leftover "mount $m"; done < <(awk '$5 ~ /\/node\/(containerd|kubelet|cni)(\/|$)/ || $5 ~ /\/netns\/cni-/ {print $5}' /proc/self/mountinfo)

# cgroups the kubelet and runc create
for d in /sys/fs/cgroup/*/kubepods; do [[ -d "$d" ]] && leftover "cgroup $d"; done

# host paths
[[ -e "$NODE_MARKER" ]] && leftover "$NODE_MARKER (a node is recorded as running: $(cat "$NODE_MARKER"))"
[[ -d /opt/containerd ]] && leftover "/opt/containerd"
for p in "${NODE_HOST_PATHS[@]}"; do
  [[ -e "$p" ]] || continue
  if [[ -n "$saved" ]]; then
    grep -qx "existed $p" "$saved" || leftover "$p (created while the node ran)"
  elif [[ -d "$p" && -n "$(find "$p" -mindepth 1 -print -quit 2>/dev/null)" ]]; then
    case "$p" in
      /var/log/containers) [[ -n "$(find "$p" -maxdepth 1 -xtype l)" ]] && leftover "dangling log links in $p" ;;
      *) leftover "$p is not empty" ;;
    esac
  fi
done

# sysctls back to what they were
if [[ -n "$saved" ]]; then
  while read -r tag k v; do
    [[ "$tag" == sysctl ]] || continue
    now="$(tr '\t' ' ' <"/proc/sys/$k" 2>/dev/null)"
    [[ "$now" == "$v" ]] || leftover "sysctl ${k//\//.} is '$now', was '$v'"
  done <"$saved"
fi

if ((${#left[@]} > 0)); then
  echo "check-clean: the host is not clean:" >&2
  printf '  %s\n' "${left[@]}" >&2
  exit 1
fi
echo "check-clean: host clean (no node processes, chains, ipsets, bridge, mounts, cgroups or node files left)"
