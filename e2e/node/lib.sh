#!/usr/bin/env bash
# Helpers shared by the node scripts (sourced, not run): the node's fixed addresses and names,
# and the teardown that up.sh (on failure) and down.sh both use, so they undo exactly the same
# things. Builds on e2e/control-plane/lib.sh: one state dir, one pids file, one way to stop.
node_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../control-plane/versions.env
source "$node_here/../control-plane/versions.env"
# shellcheck source=../control-plane/lib.sh
source "$node_here/../control-plane/lib.sh"

# --- fixed addresses and names (one node per host, so nothing here needs to vary) ---------------
NODE_IP=10.250.0.1            # /32 alias on lo: the kernel has no dummy device type
NODE_NAME=microapp-node
CLUSTER_CIDR=10.244.0.0/16    # pods; the node gets 10.244.0.0/24 from the nodeipam controller
POD_SUBNET=10.244.0.0/24
POD_GATEWAY=10.244.0.1
SERVICE_CIDR=10.0.0.0/24      # the control plane's --service-cluster-ip-range
DNS_IP=10.0.0.10              # Service kube-system/kube-dns
INGRESS_IP=10.0.0.80          # reserved for the ingress controller's Service
BRIDGE=microapp0              # the CNI bridge (own name: nothing else on the host uses it)
NODE_MARKER=/run/microapp-node   # "NAME STATE" of the one node this host runs
NODE_ADDONS="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/node"
PAUSE_IMAGE=ghcr.io/safedefaults/e2e-pause:3.10
COREDNS_IMAGE="ghcr.io/safedefaults/e2e-coredns:$COREDNS_VERSION"
NETTEST_IMAGE=ghcr.io/safedefaults/e2e-nettest:1
TRAEFIK_IMAGE="ghcr.io/safedefaults/e2e-traefik:$TRAEFIK_VERSION"
# sysctls the node changes (we set them, or the kubelet does with protectKernelDefaults off):
# recorded at up, restored at down
NODE_SYSCTLS=(net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables
  net/ipv4/conf/all/route_localnet vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes net/netfilter/nf_conntrack_max)
# host paths outside the state dir that something on the node creates when missing; removed at
# down if they did not exist at up (/run/containerd/s: containerd 1.6 puts shim sockets there
# whatever its state dir; /var/log/containers: the kubelet's log symlinks, a fixed path;
# /var/lib/cni: libcni's result cache, which containerd 1.6 does not let us move)
NODE_HOST_PATHS=(/run/containerd /var/lib/cni /var/log/containers /run/xtables.lock)
# iptables chains (and ipsets) of kube-proxy, the CNI plugins, kube-router and our own guard
NODE_CHAIN_RE='^(KUBE-|CNI-|MICROAPP-)'
NODE_IPSET_RE='^(KUBE-|kube-router-|inet6:KUBE-|inet6:kube-router-)'

# nettest_bin: the project's test binary (build-addons.sh names its dir by a hash of the source)
nettest_key() { cat "$node_here"/src/nettest/*.go "$node_here"/src/nettest/go.mod | sha256sum | cut -c1-16; }
nettest_bin() { echo "$NODE_ADDONS/nettest-$(nettest_key)/nettest"; }

node_log() { echo "node: $*"; }
node_warn() { echo "node: $*" >&2; }

# node_dirs: the node's paths inside the instance's state dir (after cp_init)
node_dirs() {
  NODE_STATE="$CP_STATE/node"
  CTRD_DIR="$NODE_STATE/containerd"
  CTRD_SOCK="$CTRD_DIR/containerd.sock"
  RUNC_ROOT="$CTRD_DIR/runc"
  KUBELET_DIR="$NODE_STATE/kubelet"
  CNI_DIR="$NODE_STATE/cni"
  HOST_SAVED="$NODE_STATE/host.saved"
}

node_ctr() { ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"; }

# --- host state: record before changing anything, restore at down --------------------------------
node_save_host() {
  local k
  mkdir -p "$NODE_STATE"
  {
    for k in "${NODE_SYSCTLS[@]}"; do
      [[ -r "/proc/sys/$k" ]] && echo "sysctl $k $(tr '\t' ' ' <"/proc/sys/$k")"
    done
    for k in "${NODE_HOST_PATHS[@]}"; do [[ -e "$k" ]] && echo "existed $k"; done
    # (whether the lo alias existed is up.sh's to say: it adds the alias before this runs)
    nft list tables 2>/dev/null | sed 's/^table /nft-table /'
  } >"$HOST_SAVED.tmp"
  mv "$HOST_SAVED.tmp" "$HOST_SAVED"
}

node_restore_sysctls() {
  local tag k v
  [[ -f "$HOST_SAVED" ]] || return 0
  while read -r tag k v; do
    [[ "$tag" == sysctl ]] || continue
    [[ "$(tr '\t' ' ' <"/proc/sys/$k" 2>/dev/null)" == "$v" ]] && continue
    echo "$v" >"/proc/sys/$k" 2>/dev/null || node_warn "could not restore $k to '$v'"
  done <"$HOST_SAVED"
  return 0
}

# --- teardown ----------------------------------------------------------------------------------------
# node_kill_containers: every process in the node's pod cgroups (pause, apps, execs) and the
# containerd shims of this instance. Runs after the kubelet and containerd are stopped, so nothing
# restarts them. The pod cgroups are the one complete list: a process that escaped the runtime's
# bookkeeping is still in its cgroup.
node_kill_containers() {
  local round pids p
  for round in $(seq 50); do
    # (no kubepods yet: find fails, which pipefail would turn into an exit)
    pids="$(find /sys/fs/cgroup/*/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)"
    for p in $(node_shim_pids); do pids+=" $p"; done
    [[ -z "${pids// /}" ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  node_warn "processes still in the pod cgroups: $pids"
}

# node_shim_pids: containerd-shim-runc-v2 processes started by this instance's containerd (their
# command line names its socket, inside our state dir)
node_shim_pids() {
  local d cmd
  for d in /proc/[0-9]*; do
    cmd="$( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null)" || continue
    [[ "$cmd" == *containerd-shim* && "$cmd" == *"$CTRD_SOCK"* ]] && echo "${d#/proc/}"
  done
  return 0
}

# node_umount_all: everything mounted under the state dir (container rootfs overlays, netns bind
# mounts, the kubelet's rshared root dir and its tmpfs volumes), deepest first
node_umount_all() {
  local round m left
  for round in 1 2 3 4 5; do
    left="$(node_mounts)"
    [[ -z "$left" ]] && return 0
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk '{print length($0) " " $0}' <<<"$left" | sort -rn | cut -d' ' -f2-)
  done
  left="$(node_mounts)"
  [[ -z "$left" ]] || node_warn "still mounted: $left"
  return 0
}
node_mounts() {
  # /proc/self/mountinfo escapes spaces as \040; our paths have none
  awk -v s="$CP_STATE/" '$5 == substr(s, 1, length(s) - 1) || index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -u
}

# node_clean_iptables: drop every chain matching NODE_CHAIN_RE and every rule that jumps to one,
# in every table, IPv4 and IPv6; what is not ours is restored exactly as it was
node_clean_iptables() {
  local fam save restore dump
  for fam in ip ip6; do
    save=iptables-save restore=iptables-restore
    [[ $fam == ip6 ]] && save=ip6tables-save restore=ip6tables-restore
    command -v "$save" >/dev/null || continue
    dump="$("$save" 2>/dev/null)" || continue
    grep -qE '^:(KUBE-|CNI-|MICROAPP-)|-[jg] (KUBE-|CNI-|MICROAPP-)' <<<"$dump" || continue
    awk '
      /^\*/ { print; next }
      /^:/ { if ($1 ~ /^:(KUBE-|CNI-|MICROAPP-)/) next; print; next }
      /^-A / { if ($2 ~ /^(KUBE-|CNI-|MICROAPP-)/) next
               for (i = 3; i < NF; i++) if (($i == "-j" || $i == "-g") && $(i+1) ~ /^(KUBE-|CNI-|MICROAPP-)/) next
               print; next }
      { print }' <<<"$dump" | "$restore" -w 5 || node_warn "$restore failed while removing the node's chains"
  done
  return 0
}

# node_clean_ipsets: kube-router's sets (after the rules that use them are gone)
node_clean_ipsets() {
  local s
  command -v ipset >/dev/null || return 0
  for s in $(ipset list -n 2>/dev/null | grep -E "$NODE_IPSET_RE"); do
    ipset destroy "$s" 2>/dev/null || node_warn "could not destroy ipset $s"
  done
  return 0
}

# node_clean_nft: nftables tables that did not exist at up and hold no rule any more (the ip/ip6
# filter, nat, mangle tables iptables-nft creates on first use)
node_clean_nft() {
  local fam name listing
  command -v nft >/dev/null || return 0
  while read -r _ fam name; do
    [[ -n "$name" ]] || continue
    grep -qx "nft-table $fam $name" "$HOST_SAVED" 2>/dev/null && continue
    # (the listing goes to a variable first: `nft | grep -q` fails under pipefail when grep
    # stops reading early)
    listing="$(nft -a list table "$fam" "$name" 2>/dev/null)" || continue
    # a rule line carries "# handle N" and is not a table/chain/set header
    [[ -n "$(grep '# handle' <<<"$listing" | grep -vE '^\s*(table|chain|set|map|flowtable) ')" ]] && continue
    nft delete table "$fam" "$name" 2>/dev/null || true
  done < <(nft list tables 2>/dev/null)
  return 0
}

# node_clean_cgroups: the kubelet's kubepods tree in every v1 hierarchy, leaves first
node_clean_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods; do
    [[ -d "$d" ]] || continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d "$d" ]] && node_warn "could not remove cgroup $d"
  done
  return 0
}

# node_clean_net: the bridge (its veths went with the pods' network namespaces), our routes, the
# lo alias (unless it was there before), conntrack entries of the node's ranges
node_clean_net() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE" 2>/dev/null || node_warn "could not delete bridge $BRIDGE"; fi
  ip route del unreachable "$CLUSTER_CIDR" 2>/dev/null || true
  ip route del "$SERVICE_CIDR" 2>/dev/null || true
  if ! grep -qx lo-alias-existed "$HOST_SAVED" 2>/dev/null; then
    ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
  fi
  if command -v conntrack >/dev/null; then
    local c
    for c in "$CLUSTER_CIDR" "$SERVICE_CIDR" "$NODE_IP"; do
      conntrack -D -s "$c" >/dev/null 2>&1 || true
      conntrack -D -d "$c" >/dev/null 2>&1 || true
    done
  fi
  return 0
}

# node_clean_host_paths: fixed host paths the node created (see NODE_HOST_PATHS)
node_clean_host_paths() {
  local p
  # the kubelet's per-container log symlinks point into our podLogsDir
  if [[ -d /var/log/containers ]]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$NODE_STATE/*" -delete 2>/dev/null || true
  fi
  # containerd's shim sockets of this instance (named by a hash; the shims are gone by now)
  # A /run/containerd that was there before (a system containerd) keeps its own files; ours are
  # the shim sockets made since up that nobody listens on any more.
  if [[ -d /run/containerd/s && -f "$HOST_SAVED" ]] && grep -qx "existed /run/containerd" "$HOST_SAVED"; then
    local listening; listening="$(ss -xlH 2>/dev/null | awk '{print $5}')"
    for p in $(find /run/containerd/s -maxdepth 1 -type s -newer "$HOST_SAVED" 2>/dev/null); do
      grep -qxF "$p" <<<"$listening" || rm -f "$p"
    done
  fi
  for p in "${NODE_HOST_PATHS[@]}"; do
    grep -qx "existed $p" "$HOST_SAVED" 2>/dev/null && continue
    [[ -e "$p" ]] || continue
    if [[ -d "$p" ]]; then
      # only if nothing but the node's own leftovers is in it
      if [[ "$p" == /run/containerd ]]; then find "$p" -mindepth 1 -depth \( -type s -o -type d \) -delete 2>/dev/null || true; fi
      if [[ "$p" == /var/lib/cni ]]; then rm -rf "$p/results" "$p/networks" 2>/dev/null || true; fi
      find "$p" -depth -type d -empty -delete 2>/dev/null || true
      [[ -e "$p" ]] && node_warn "left $p in place: it holds files that are not the node's"
    else
      rm -f "$p"
    fi
  done
  return 0
}

# node_stop_processes: like cp_stop (newest first: add-ons, kube-proxy, scheduler, kubelet,
# containerd, then the control plane), but the pods die right after containerd: a pod's open watch
# (CoreDNS's) would otherwise keep the apiserver's graceful shutdown waiting its full 60 s.
node_stop_processes() {
  local proc pid procs=() pids=() i
  [[ -f "$CP_STATE/pids" ]] || return 0
  while read -r proc pid; do
    [[ -n "${pid:-}" ]] || continue
    procs=("$proc" "${procs[@]}") pids=("$pid" "${pids[@]}")
  done <"$CP_STATE/pids"
  for i in "${!pids[@]}"; do
    cp_stop_one "${procs[$i]}" "${pids[$i]}"
    # Each component was started with setsid, so it leads a process group; what it spawned and
    # did not wait for (an iptables call of the kubelet or kube-proxy still waiting for the xtables
    # lock) is still in that group and would recreate tables after the cleanup below.
    if [[ "${pids[$i]}" =~ ^[0-9]+$ ]]; then kill -KILL -- "-${pids[$i]}" 2>/dev/null || true; fi
    [[ "${procs[$i]}" == containerd ]] && node_kill_containers
  done
  : >"$CP_STATE/pids"
}

# node_teardown: stop and undo everything, in an order that lets each step succeed: processes
# (newest first: add-ons, kube-proxy, scheduler, kubelet, containerd, then the control plane),
# then the containers they leave behind, mounts, network, cgroups, host files, sysctls.
node_teardown() {
  node_dirs
  node_stop_processes
  node_kill_containers
  node_umount_all
  node_clean_net
  node_clean_iptables
  node_clean_ipsets
  node_clean_nft
  node_clean_cgroups
  node_clean_host_paths
  node_restore_sysctls
  if [[ -f "$NODE_MARKER" && "$(cut -d' ' -f1 "$NODE_MARKER")" == "$CP_NAME" ]]; then rm -f "$NODE_MARKER"; fi
}
