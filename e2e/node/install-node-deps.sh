#!/usr/bin/env bash
# Installs the Debian packages a real node needs: containerd + runc (the container runtime; runc
# is built with libseccomp, so seccomp RuntimeDefault works), the CNI reference plugins (bridge,
# host-local, portmap, loopback in /usr/lib/cni), iptables (kube-proxy), nftables (the
# NetworkPolicy enforcer's tables; `nft` for cleanup and checks), ipset and conntrack (kube-proxy
# flushes conntrack entries of deleted Services), iproute2 (the node IP alias). Debian packages
# only; a no-op when everything is present. Same style as e2e/install-test-deps.sh.
set -euo pipefail

# command (or file) -> package
declare -A need=(
  [containerd]=containerd
  [ctr]=containerd
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [iptables]=iptables
  [nft]=nftables
  [ipset]=ipset
  [conntrack]=conntrack
  [ip]=iproute2
  [gcc]=gcc
)
missing=()
for cmd in "${!need[@]}"; do
  if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] && continue
  else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  missing+=("${need[$cmd]}")
done
# the static pause binary links against libc.a
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || missing+=(libc6-dev)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
pkgs="$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-node-deps: a node needs: sudo apt-get install -y $pkgs" >&2
  exit 1
fi
echo "install-node-deps: installing $pkgs"
export DEBIAN_FRONTEND=noninteractive
# only a fresh machine without package lists needs the (slow) update
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  apt-get update -qq
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# Debian enables containerd.service on install; the node runs its own containerd with its own
# dirs and socket, so a system one (if an init system started it) is stopped, not used.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet containerd 2>/dev/null; then
  systemctl stop containerd >/dev/null 2>&1 || true
fi
echo "install-node-deps: done"
