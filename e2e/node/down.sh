#!/usr/bin/env bash
# Stops a node started by up.sh and leaves the host as it was before:
#
#   e2e/node/down.sh [NAME]      # NAME defaults to "default"
#
# Stops exactly the recorded processes (the add-ons, kube-proxy, scheduler, kubelet, containerd,
# then the control plane), kills what is left in the pod cgroups and the containerd shims,
# unmounts everything under the state dir, deletes the bridge, the node's iptables chains, ipsets
# and new empty nftables tables, the kubepods cgroups, the lo alias and files the node created
# outside its state dir, and restores the sysctls recorded at up. Then check-clean.sh verifies it
# (exit non-zero naming each leftover). Safe to run twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
cp_init "${1:-}"
node_dirs
[[ "$(id -u)" -eq 0 ]] || { echo "down.sh: needs root (it undoes iptables, mounts and cgroups)" >&2; exit 1; }
t0=$SECONDS

running="$(cut -d' ' -f1 "$NODE_MARKER" 2>/dev/null || true)"
if [[ ! -e "$CP_STATE" && "$running" != "$CP_NAME" ]]; then
  echo "node '$CP_NAME' is not running (no $CP_STATE)"
  if [[ -n "$running" ]]; then
    echo "(node '$running' runs on this host; not touching it)"
    exit 0
  fi
  "$here/check-clean.sh"
  exit 0
fi
node_teardown
saved=""
if [[ -f "$HOST_SAVED" ]]; then saved="$(mktemp)"; cp "$HOST_SAVED" "$saved"; fi
if [[ -z "$(node_mounts)" ]]; then
  rm -rf "$CP_STATE"
else
  echo "down.sh: kept $CP_STATE: something is still mounted under it" >&2
fi
rm -rf "$CP_STATE.failed-logs"   # a failed up's logs (see up.sh)
rc=0
"$here/check-clean.sh" ${saved:+--saved "$saved"} || rc=$?
[[ -n "$saved" ]] && rm -f "$saved"
if ((rc == 0)); then
  echo "node '$CP_NAME' stopped in $((SECONDS - t0))s, host clean"
fi
exit "$rc"
