#!/usr/bin/env bash
# Starts a real one-node Kubernetes cluster on this host, pods included:
#
#   e2e/node/up.sh [NAME]        # NAME defaults to "default"; one node per host
#
# The control plane of e2e/control-plane/up.sh in node-IP mode (kube-apiserver on
# 10.250.0.1, a /32 alias on lo), then containerd (own dirs and socket), the CNI bridge, the
# kubelet, kube-scheduler, kube-proxy (iptables), kube-router (NetworkPolicy only), CoreDNS (a
# Deployment behind kube-system/kube-dns 10.0.0.10) and cert-manager with a CA ClusterIssuer
# `microapp-local-ca`. Everything it changes outside the state dir is recorded first and undone
# by down.sh (see README.md). Needs root, cgroup v1 hierarchies and the Debian packages of
# install-node-deps.sh (installed when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
# checked before anything touches the state dir
[[ "$(id -u)" -eq 0 ]] || { echo "up.sh: a node needs root (containerd, iptables, mounts, cgroups); run as root" >&2; exit 1; }
cp_init "${1:-}"
node_dirs
cp_dir="$here/../control-plane"
timeout_s="${NODE_START_TIMEOUT:-60}"
INGRESS_DOMAINS="${NODE_INGRESS_DOMAINS:-example.com}"
INGRESS_DOMAINS="${INGRESS_DOMAINS//,/ }"
t_start=$SECONDS
die() { echo "up.sh: $*" >&2; exit 1; }

# --- prerequisites: one line naming what is missing ------------------------------------------------
for h in cpu cpuacct memory pids devices freezer; do
  grep -qE "^cgroup /sys/fs/cgroup/[^ ]*\b$h\b[^ ]* cgroup " /proc/mounts \
    || die "no cgroup v1 '$h' hierarchy mounted under /sys/fs/cgroup (the node runs the kubelet with cgroup v1)"
done
"$here/install-node-deps.sh" >&2 || die "Debian packages missing (see above)"
# bad input is refused before anything starts: these end up in CoreDNS's Corefile
for d in $INGRESS_DOMAINS; do
  [[ "$d" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$ ]] \
    || die "NODE_INGRESS_DOMAINS: '$d' is not a lower-case DNS domain (e.g. example.com)"
  [[ "$d" == cluster.local || "$d" == *.cluster.local ]] && die "NODE_INGRESS_DOMAINS: '$d' is the cluster's own domain"
done
for u in ${NODE_DNS_UPSTREAM:-}; do
  [[ "$u" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]{1,5})?$ ]] || die "NODE_DNS_UPSTREAM: '$u' is not an IPv4 address[:port]"
done
(( ${#CTRD_SOCK} < 100 )) || die "state dir path too long for containerd's socket ($CTRD_SOCK); set CONTROL_PLANE_STATE_DIR shorter"

# --- one node per host -----------------------------------------------------------------------------
kubectl_bin="$CP_BIN/kubectl"
kc() { "$kubectl_bin" --kubeconfig="$CP_STATE/kubeconfig" --request-timeout=10s "$@"; }
node_healthy() {
  cp_running && [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
print_usage_hint() {
  echo "kubeconfig: $CP_STATE/kubeconfig"
  echo "  source $CP_STATE/env      # KUBECONFIG, APISERVER_URL, NODE_IP, INGRESS_CA, ..."
  echo "stop with:  $here/down.sh $CP_NAME"
}
if [[ -f "$NODE_MARKER" ]]; then
  read -r other other_state <"$NODE_MARKER" || true
  if [[ "$other" == "$CP_NAME" && "$other_state" == "$CP_STATE" ]]; then
    if node_healthy; then
      echo "node '$CP_NAME' is already up ($NODE_NAME Ready)"
      print_usage_hint
      exit 0
    fi
    echo "node '$CP_NAME': cleaning up a stale or broken instance first"
    "$here/down.sh" "$CP_NAME" >&2 || die "could not clean up the stale node '$CP_NAME' (see above)"
  else
    # is the other one alive? (its recorded processes run)
    if ( CONTROL_PLANE_STATE_DIR="$(dirname "$other_state")" && cp_init "$other" >/dev/null && cp_running ); then
      die "node '$other' is running on this host (only one node per host: it owns 10.250.0.1, the bridge and iptables); stop it with $here/down.sh $other"
    fi
    echo "node '$other' left state behind without running processes: cleaning it up first"
    CONTROL_PLANE_STATE_DIR="$(dirname "$other_state")" "$here/down.sh" "$other" >&2 \
      || die "could not clean up the stale node '$other' (see above)"
  fi
elif [[ -d "$NODE_STATE" ]]; then
  echo "node '$CP_NAME': cleaning up stale state in $CP_STATE"
  "$here/down.sh" "$CP_NAME" >&2 || die "could not clean up stale state (see above)"
elif cp_running; then
  die "control plane '$CP_NAME' runs without a node (e2e/control-plane/up.sh); stop it with e2e/control-plane/down.sh $CP_NAME or use another NAME"
fi

# --- binaries and images (fast no-ops once built) -------------------------------------------------
# NODE_NO_BUILD=1: use what is there (CI that built in an earlier step; a quick missing-binary check)
if [[ -z "${NODE_NO_BUILD:-}" ]]; then
  "$here/build.sh" >&2 || die "building the node failed (see above)"
fi
for b in etcd kube-apiserver kube-controller-manager kubelet kube-scheduler kube-proxy kubectl; do
  [[ -x "$CP_BIN/$b" ]] || die "missing binary $CP_BIN/$b (run e2e/node/build.sh)"
done
kube_router="$NODE_ADDONS/kube-router-$KUBE_ROUTER_VERSION/kube-router"
cm_dir="$NODE_ADDONS/cert-manager-$CERT_MANAGER_VERSION"
traefik_dir="$NODE_ADDONS/traefik-$TRAEFIK_VERSION"
for b in "$kube_router" "$cm_dir/controller" "$cm_dir/webhook" "$cm_dir/crds.yaml" "$traefik_dir/gateway-api-crds.yaml" \
    "$NODE_ADDONS/images/pause.tar" "$NODE_ADDONS/images/coredns.tar" "$NODE_ADDONS/images/traefik.tar"; do
  [[ -e "$b" ]] || die "missing $b (run e2e/node/build.sh)"
done
for t in containerd ctr runc iptables ip nft; do command -v "$t" >/dev/null || die "missing command '$t' (e2e/node/install-node-deps.sh installs it)"; done

# --- from here on, a failure tears down everything this run started ---------------------------------
up_done=0 had_alias=0
current="" current_log=""
on_exit() {
  local rc=$?
  ((up_done)) && return
  ((rc == 0)) && rc=1
  echo "up.sh: node '$CP_NAME' failed to start${current:+ ($current)}" >&2
  if [[ -n "$current_log" && -f "$current_log" ]]; then
    echo "----- last lines of $current_log -----" >&2
    tail -n 30 "$current_log" >&2
    echo "--------------------------------------" >&2
  fi
  # keep the logs for a look; everything else goes
  if [[ -d "$CP_STATE/logs" ]]; then
    rm -rf "$CP_STATE.failed-logs"; cp -r "$CP_STATE/logs" "$CP_STATE.failed-logs" 2>/dev/null || true
  fi
  node_teardown >&2 || true
  # an alias that was there before we started stays (host.saved may not exist yet to say so)
  if ((had_alias)); then ip addr add "$NODE_IP/32" dev lo 2>/dev/null || true; fi
  local saved=""
  if [[ -f "$HOST_SAVED" ]]; then saved="$(mktemp)"; cp "$HOST_SAVED" "$saved"; fi
  if ((had_alias)) && [[ -n "$saved" ]] && ! grep -qx lo-alias-existed "$saved"; then echo lo-alias-existed >>"$saved"; fi
  [[ -z "$(node_mounts)" ]] && rm -rf "$CP_STATE"
  echo "up.sh: tore down what it started; logs in $CP_STATE.failed-logs" >&2
  "$here/check-clean.sh" ${saved:+--saved "$saved"} >&2 || true
  [[ -n "$saved" ]] && rm -f "$saved"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# --- the control plane in node-IP mode -------------------------------------------------------------
# The node IP must exist before the apiserver binds it. Teardown removes it unless it was there
# before (host.saved says so once written; on_exit puts a pre-existing one back before that).
grep -q " $NODE_IP/32 " <<<"$(ip -o addr show dev lo)" && had_alias=1
((had_alias)) || ip addr add "$NODE_IP/32" dev lo
echo "$CP_NAME $CP_STATE" >"$NODE_MARKER"
current="control plane"
CONTROL_PLANE_NODE_IP="$NODE_IP" "$cp_dir/up.sh" "$CP_NAME" >&2
t_cp=$SECONDS
node_save_host
((had_alias)) && echo "lo-alias-existed" >>"$HOST_SAVED"
mkdir -p "$CTRD_DIR" "$KUBELET_DIR" "$CNI_DIR/net.d" "$NODE_STATE/pod-logs" "$NODE_STATE/manifests"
pki="$CP_STATE/pki"
logs="$CP_STATE/logs"

# --- certificates and kubeconfigs of the node's components --------------------------------------------
openssl_q() { openssl "$@" 2>>"$logs/openssl.log"; }
issue() { # NAME SUBJECT EXTENSIONS
  openssl_q req -new -newkey rsa:2048 -nodes -sha256 -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2"
  openssl_q x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 -sha256 \
    -out "$pki/$1.crt" -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "$3")
  rm -f "$pki/$1.csr"; chmod 600 "$pki/$1.key"
}
current="certificates"; current_log="$logs/openssl.log"
issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth"
issue kubelet-serving "/CN=$NODE_NAME" "extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
issue kube-scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
issue kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
issue kube-router "/CN=microapp:kube-router" "extendedKeyUsage=clientAuth"
issue cert-manager "/CN=microapp:cert-manager" "extendedKeyUsage=clientAuth"
issue cert-manager-webhook "/CN=cert-manager-webhook" "extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP"
server="$(awk '/server:/ {print $2; exit}' "$CP_STATE/kubeconfig")"
kubeconfig() { # NAME USER
  cat >"$NODE_STATE/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: microapp
  cluster: {server: "$server", certificate-authority: "$pki/ca.crt"}
users:
- name: "$2"
  user: {client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key"}
contexts:
- name: microapp
  context: {cluster: microapp, user: "$2"}
current-context: microapp
KC
  chmod 600 "$NODE_STATE/$1.kubeconfig"
}
for c in kubelet kube-scheduler kube-proxy kube-router cert-manager; do kubeconfig "$c" "$c"; done

# --- host networking -------------------------------------------------------------------------------------
# ip_forward: pods reach Services (DNAT on the host, routed back to the bridge); br_netfilter's
# call-iptables: bridged pod-to-pod traffic passes kube-proxy's and kube-router's rules.
current="host network"; current_log=""
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
# The bridge exists before the first pod so the routes below can use it (the CNI bridge plugin
# adopts an existing bridge of its name). Host -> Service traffic leaves from the bridge's address
# (a pod-CIDR source, so no masquerade needed) and, with no Service rule, stays on the bridge
# instead of following the default route off the machine; other pod-CIDR addresses are unreachable.
ip link add "$BRIDGE" type bridge
ip addr add "$POD_GATEWAY/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
ip route add "$SERVICE_CIDR" dev "$BRIDGE" src "$POD_GATEWAY"
ip route add unreachable "$CLUSTER_CIDR"
# Pods talk to each other, Services, the node and the host; nothing they send is forwarded out of
# any other interface (no egress to other networks from tests).
iptables -w 5 -N MICROAPP-NODE-FORWARD
iptables -w 5 -A MICROAPP-NODE-FORWARD -s "$CLUSTER_CIDR" ! -o "$BRIDGE" -j REJECT --reject-with icmp-net-unreachable
iptables -w 5 -I FORWARD 1 -j MICROAPP-NODE-FORWARD

# --- process helpers (same bookkeeping as the control plane: pids file, logs/, own session) --------
start() { # PROC BINARY ARGS...
  local proc="$1" bin="$2"; shift 2
  current="$proc"; current_log="$logs/$proc.log"
  setsid "$bin" "$@" </dev/null >"$current_log" 2>&1 &
  echo "$proc $!" >>"$CP_STATE/pids"
}
pid_of() { awk -v p="$1" '$1 == p {print $2}' "$CP_STATE/pids"; }
# wait_for COMPONENT WHAT CMD...: retry CMD until it succeeds. Fail when the component's process
# died (host processes) or after NODE_START_TIMEOUT seconds for this step.
wait_for() {
  local comp="$1" what="$2" deadline=$((SECONDS + timeout_s)) pid; shift 2
  current="$comp: $what"
  pid="$(pid_of "$comp")"
  [[ -n "$pid" ]] && current_log="$logs/$comp.log"
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! cp_pid_ours "$pid"; then echo "up.sh: $comp exited while waiting for $what" >&2; return 1; fi
    if ((SECONDS > deadline)); then echo "up.sh: $comp: timed out after ${timeout_s}s waiting for $what" >&2; return 1; fi
    sleep 0.5
  done
}
free_ports() { python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"; }
read -r sched_port proxy_healthz_port proxy_metrics_port cm_metrics_port webhook_port webhook_healthz_port < <(free_ports 6)
# cert-manager 1.11's webhook has no bind-address flag and listens on every interface: only
# loopback traffic (the apiserver, to the node IP) may reach its two ports
iptables -w 5 -N MICROAPP-NODE-INPUT
iptables -w 5 -A MICROAPP-NODE-INPUT ! -i lo -p tcp -m multiport --dports "$webhook_port,$webhook_healthz_port" -j DROP
iptables -w 5 -I INPUT 1 -j MICROAPP-NODE-INPUT

# --- containerd -----------------------------------------------------------------------------------------
# Own root/state/socket; the CRI plugin restricts oom_score_adj (CAP_SYS_RESOURCE is missing from
# this machine's bounding set: without it every sandbox fails), cgroupfs, network namespaces under
# the state dir, runc state under the state dir, and our own pause image. Unused plugins are off
# (the "opt" plugin would create /opt/containerd).
cat >"$CTRD_DIR/config.toml" <<TOML
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNC_ROOT"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CNI_DIR/net.d"
    max_conf_num = 1
TOML
# The pod network: the bridge above, host-local addresses from the node's /24 (its data inside the
# state dir), portmap for hostPorts (the ingress controller's 443 on the node IP). containerd adds
# the loopback plugin itself.
cat >"$CNI_DIR/net.d/10-microapp.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "microapp",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$CNI_DIR/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
start containerd "$(command -v containerd)" --config "$CTRD_DIR/config.toml" --log-level warn
wait_for containerd "its socket" node_ctr version
"$here/load-images.sh" "$NODE_ADDONS/images/pause.tar" "$NODE_ADDONS/images/coredns.tar" "$NODE_ADDONS/images/traefik.tar" \
  >"$logs/images.log" 2>&1 \
  || { current="image import"; current_log="$logs/images.log"; exit 1; }

# --- kubelet ----------------------------------------------------------------------------------------------
# Pods never get the host's resolver: ClusterFirst pods use CoreDNS, dnsPolicy=Default pods get
# this empty file.
echo "# no host resolver for pods (e2e/node)" >"$KUBELET_DIR/resolv.conf"
cat >"$KUBELET_DIR/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$pki/kubelet-serving.crt"
tlsPrivateKeyFile: "$pki/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$CTRD_SOCK"
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
podLogsDir: "$NODE_STATE/pod-logs"
resolvConf: "$KUBELET_DIR/resolv.conf"
volumePluginDir: "$KUBELET_DIR/volume-plugins"
clusterDNS: ["$DNS_IP"]
clusterDomain: cluster.local
serializeImagePulls: false
# every image is imported from an archive and cannot be pulled again: never collect them
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# a nearly full disk of a test machine must not evict the test's pods
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
shutdownGracePeriod: 0s
# pods are synced (and their Secret and ConfigMap volumes refreshed) every 15 s instead of every
# minute: a rotated session keyset reaches the sidecar within 15 s plus its own 30 s check, which
# keeps the key-rotation tests from waiting minutes on the kubelet; a few dozen pods cost nothing
syncFrequency: 15s
YAML
start kubelet "$CP_BIN/kubelet" \
  --config="$KUBELET_DIR/config.yaml" \
  --kubeconfig="$NODE_STATE/kubelet.kubeconfig" \
  --root-dir="$KUBELET_DIR/root" \
  --cert-dir="$KUBELET_DIR/pki" \
  --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP" \
  --v=1

# --- kube-scheduler, kube-proxy ------------------------------------------------------------------------
start kube-scheduler "$CP_BIN/kube-scheduler" \
  --kubeconfig="$NODE_STATE/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$NODE_STATE/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$NODE_STATE/kube-scheduler.kubeconfig" \
  --authentication-skip-lookup=true \
  --client-ca-file="$pki/ca.crt" \
  --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port="$sched_port" \
  --cert-dir="$NODE_STATE/kube-scheduler-certs" \
  --profiling=false --v=1
cat >"$NODE_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$NODE_STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
detectLocalMode: ClusterCIDR
# NodePorts on the node IP only, never on 127.0.0.1 (that would need route_localnet)
nodePortAddresses: ["$NODE_IP/32"]
iptables: {localhostNodePorts: false, masqueradeAll: false}
# 0 = leave the host's conntrack settings alone
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
healthzBindAddress: 127.0.0.1:$proxy_healthz_port
metricsBindAddress: 127.0.0.1:$proxy_metrics_port
YAML
start kube-proxy "$CP_BIN/kube-proxy" --config="$NODE_STATE/kube-proxy.yaml" --v=1

# --- cluster objects: RBAC for the node's components, DNS, the ingress IP, cert-manager's CRDs ---------
current="cluster objects"; current_log="$logs/apply.log"
corefile() {
  local d
  for d in $INGRESS_DOMAINS; do
    cat <<CF
$d:5353 {
    errors
    template IN A {
        answer "{{ .Name }} 30 IN A $INGRESS_IP"
    }
    template IN ANY {
        rcode NOERROR
    }
}
CF
  done
  cat <<CF
cluster.local:5353 in-addr.arpa:5353 ip6.arpa:5353 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        ttl 30
    }
    cache 30
    loadbalance
}
CF
  if [[ -n "${NODE_DNS_UPSTREAM:-}" ]]; then
    printf '.:5353 {\n    errors\n    forward . %s\n    loop\n    cache 30\n}\n' "$NODE_DNS_UPSTREAM"
  else
    # no upstream: names outside the cluster and the ingress domains do not exist
    printf '.:5353 {\n    errors\n    template ANY ANY {\n        rcode NXDOMAIN\n    }\n}\n'
  fi
}
sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@DNS_IP@|$DNS_IP|g" -e "s|@INGRESS_IP@|$INGRESS_IP|g" \
  "$here/manifests/node.yaml" >"$NODE_STATE/manifests/node.yaml"
{
  cat "$NODE_STATE/manifests/node.yaml"
  echo "---"
  kc create configmap coredns -n kube-system --from-file=Corefile=<(corefile) --dry-run=client -o yaml
} >"$NODE_STATE/manifests/all.yaml"
kc apply -f "$NODE_STATE/manifests/all.yaml" >"$logs/apply.log" 2>&1
kc apply --server-side -f "$cm_dir/crds.yaml" >>"$logs/apply.log" 2>&1
# the ingress controller: Gateway API CRDs first (its Gateway provider watches them), then Traefik
kc apply --server-side -f "$traefik_dir/gateway-api-crds.yaml" >>"$logs/apply.log" 2>&1
sed -e "s|@TRAEFIK_IMAGE@|$TRAEFIK_IMAGE|g" -e "s|@TRAEFIK_VERSION@|$TRAEFIK_VERSION|g" -e "s|@NODE_IP@|$NODE_IP|g" \
  "$here/manifests/traefik.yaml" >"$NODE_STATE/manifests/traefik.yaml"
kc apply -f "$NODE_STATE/manifests/traefik.yaml" >>"$logs/apply.log" 2>&1

# --- kube-router (NetworkPolicy only) -------------------------------------------------------------------
# No health port: it would listen on every interface; readiness is its iptables chains.
start kube-router "$kube_router" \
  --kubeconfig="$NODE_STATE/kube-router.kubeconfig" \
  --hostname-override="$NODE_NAME" \
  --run-router=false --run-service-proxy=false --run-firewall=true --run-loadbalancer=false \
  --enable-cni=false --enable-ipv6=false \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --health-port=0 --metrics-port=0 \
  --v=1

# --- cert-manager (controller and webhook on the host) ---------------------------------------------------
start cert-manager-webhook "$cm_dir/webhook" \
  --kubeconfig="$NODE_STATE/cert-manager.kubeconfig" \
  --secure-port="$webhook_port" --healthz-port="$webhook_healthz_port" \
  --tls-cert-file="$pki/cert-manager-webhook.crt" --tls-private-key-file="$pki/cert-manager-webhook.key" \
  --v=1
start cert-manager "$cm_dir/controller" \
  --kubeconfig="$NODE_STATE/cert-manager.kubeconfig" \
  --cluster-resource-namespace=cert-manager \
  --leader-elect=false \
  --enable-certificate-owner-ref=true \
  --metrics-listen-address="127.0.0.1:$cm_metrics_port" \
  --v=1

# --- readiness ------------------------------------------------------------------------------------------
wait_for kubelet "node $NODE_NAME Ready" node_healthy
t_node=$SECONDS
pod_cidr="$(kc get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}')"
[[ "$pod_cidr" == "$POD_SUBNET" ]] || node_warn "node podCIDR is '$pod_cidr', the CNI config uses $POD_SUBNET"
wait_for kube-proxy "its /healthz" curl -fsS "http://127.0.0.1:$proxy_healthz_port/healthz"
wait_for kube-router "its firewall chains" iptables -w 5 -n -L KUBE-ROUTER-FORWARD
dns_ok() { [[ "$("$(nettest_bin)" dns "$DNS_IP:53" kubernetes.default.svc.cluster.local A)" == "NOERROR 10.0.0.1" ]]; }
current_log=""
wait_for coredns "the kube-dns Service answering" dns_ok || {
  kc -n kube-system get pods -l k8s-app=kube-dns -o wide >&2 || true
  kc -n kube-system logs deploy/coredns --tail=20 >&2 || true
  exit 1
}
t_dns=$SECONDS
# the webhook configuration only once the webhook serves, so cert-manager objects are validated
wait_for cert-manager-webhook "its /healthz" curl -fsS "http://127.0.0.1:$webhook_healthz_port/healthz"
ca_b64="$(base64 -w0 <"$pki/ca.crt")"
sed -e "s|@WEBHOOK_URL@|https://$NODE_IP:$webhook_port|g" -e "s|@CA_BUNDLE@|$ca_b64|g" \
  "$here/manifests/cert-manager-webhook.yaml" >"$NODE_STATE/manifests/cert-manager-webhook.yaml"
current="cert-manager webhook configuration"; current_log="$logs/apply.log"
kc apply -f "$NODE_STATE/manifests/cert-manager-webhook.yaml" >>"$logs/apply.log" 2>&1
issuers_applied() { kc apply -f "$here/manifests/issuers.yaml" >>"$logs/apply.log" 2>&1; }
wait_for cert-manager "the CRDs to accept the issuers" issuers_applied
ca_ready() { [[ "$(kc get clusterissuer microapp-local-ca -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
wait_for cert-manager "ClusterIssuer microapp-local-ca Ready" ca_ready
kc -n cert-manager get secret microapp-local-ca -o jsonpath='{.data.ca\.crt}' | base64 -d >"$CP_STATE/ingress-ca.crt"
grep -q 'BEGIN CERTIFICATE' "$CP_STATE/ingress-ca.crt" || { current="ingress CA"; exit 1; }
ingress_ready() { [[ "$(kc -n ingress-system get deploy ingress-controller -o jsonpath='{.status.readyReplicas}')" == 1 ]]; }
current_log=""
wait_for ingress-controller "the ingress controller (Traefik) ready" ingress_ready || {
  kc -n ingress-system get pods -o wide >&2 || true
  kc -n ingress-system logs deploy/ingress-controller --tail=20 >&2 || true
  exit 1
}

cat >>"$CP_STATE/env" <<ENV
export NODE_NAME=$NODE_NAME
export INGRESS_IP=$INGRESS_IP
export INGRESS_CA=$CP_STATE/ingress-ca.crt
export INGRESS_DOMAINS="$INGRESS_DOMAINS"
export CONTAINERD_ADDRESS=$CTRD_SOCK
ENV
up_done=1
echo "node '$CP_NAME' is up in $((SECONDS - t_start))s (control plane $((t_cp - t_start))s, node Ready +$((t_node - t_cp))s, DNS +$((t_dns - t_node))s, CA issuer +$((SECONDS - t_dns))s): $NODE_NAME at $NODE_IP, API $server"
print_usage_hint
