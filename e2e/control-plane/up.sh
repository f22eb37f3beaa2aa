#!/usr/bin/env bash
# Starts a real local Kubernetes control plane (etcd + kube-apiserver +
# kube-controller-manager, no kubelet/scheduler) for the e2e tests and the demo.
#
#   e2e/control-plane/up.sh [NAME]      # NAME defaults to "default"
#
# Everything listens on 127.0.0.1 only, on ports picked freshly each time, so
# several instances (different NAMEs) can run side by side. All state (certs,
# etcd data, logs, pids, kubeconfig) lives in
#   ${CONTROL_PLANE_STATE_DIR:-~/.microapp-controlplane}/NAME
# and is thrown away by down.sh. Pods are created by the controllers but stay
# Pending, because no kubelet or scheduler runs.
#
# Node-IP mode (used by e2e/node/up.sh, which adds a kubelet and friends): with
# CONTROL_PLANE_NODE_IP set (an address already on this host, 10.250.0.1 there),
# kube-apiserver binds and advertises that address instead of 127.0.0.1, so pods reach it
# through the `kubernetes` Service (the endpoint reconciler stays on); it talks to the kubelet
# with a client cert; the controller manager also runs the node controllers. Without it nothing
# changes. etcd stays on 127.0.0.1 either way.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"
cp_init "${1:-}"

timeout_s="${CONTROL_PLANE_START_TIMEOUT:-90}"
node_ip="${CONTROL_PLANE_NODE_IP:-}"
api_ip="${node_ip:-127.0.0.1}"
# Room for this many Services (each takes a ClusterIP); e2e/bench asks for a /16 to hold 1,000s of apps.
# Keep 10.0.0.1 its first address: the apiserver's certificate names it.
service_cidr="${CONTROL_PLANE_SERVICE_CIDR:-10.0.0.0/24}"
state="$CP_STATE"
pki="$state/pki"
kubectl="$CP_BIN/kubectl"

print_usage_hint() {
  echo "kubeconfig: $state/kubeconfig"
  echo "  export KUBECONFIG=$state/kubeconfig    # or: source $state/env"
  echo "stop with:  $here/down.sh $CP_NAME"
}

if cp_running; then
  echo "control plane '$CP_NAME' is already up ($(awk '{printf "%s=%s ", $1, $2}' "$state/pids"))"
  print_usage_hint
  exit 0
fi
# Leftovers of a crashed or half-started instance: stop what may still run and
# start from a clean directory (certs and etcd data are cheap to recreate).
if [[ -d "$state/node" ]]; then
  echo "up.sh: '$CP_NAME' has a node's state (mounts, containers); clean it with e2e/node/down.sh $CP_NAME" >&2
  exit 1
fi
if [[ -e "$state" ]]; then
  echo "control plane '$CP_NAME': cleaning up stale state in $state"
  cp_stop
  rm -rf "$state"
fi

# Fast no-op when the pinned binaries are already there.
"$here/build.sh"

for tool in openssl python3 curl; do
  command -v "$tool" >/dev/null || { echo "up.sh: '$tool' is required" >&2; exit 1; }
done

started=0
mkdir -p "$pki" "$state/logs"
mkdir -m 700 "$state/etcd"   # etcd warns about anything wider than 0700
chmod 700 "$state"
: >"$state/pids"
t0=$SECONDS

# --- on any failure: show why, stop what we started -------------------------
current_log=""
on_exit() {
  local rc=$?
  if ((rc != 0 && started == 0)); then
    echo "up.sh: control plane '$CP_NAME' failed to start (exit $rc)" >&2
    if [[ -n "$current_log" && -f "$current_log" ]]; then
      echo "----- last lines of $current_log -----" >&2
      tail -n 40 "$current_log" >&2
      echo "--------------------------------------" >&2
    fi
    cp_stop
    echo "up.sh: stopped the processes it started; logs kept in $state/logs" >&2
    echo "       (the next up.sh $CP_NAME or down.sh $CP_NAME removes them)" >&2
  fi
}
trap on_exit EXIT

# --- free loopback ports -------------------------------------------------------
# Bind all sockets at once (so the four ports differ), read the numbers the
# kernel picked, release them. There is a tiny window before our processes bind
# them; a collision makes startup fail loudly rather than share a port.
read -r etcd_client_port etcd_peer_port apiserver_port kcm_port < <(python3 - "$api_ip" <<'PY'
import socket, sys
socks = []
for i in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((sys.argv[1] if i == 2 else "127.0.0.1", 0))  # the third is the apiserver's
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
)
apiserver_url="https://$api_ip:$apiserver_port"
etcd_url="http://127.0.0.1:$etcd_client_port"

# --- certificates ------------------------------------------------------------
# A throwaway CA signs: the apiserver's serving cert, the admin client cert
# (group system:masters = cluster-admin), and the controller-manager's client
# cert (its CN is the user the built-in RBAC roles are bound to).
# The service-account key pair signs / verifies service-account tokens.
openssl_quiet() { openssl "$@" 2>>"$state/logs/openssl.log"; }
current_log="$state/logs/openssl.log"

openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=microapp-controlplane-ca-$CP_NAME" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"

# issue NAME SUBJECT EXTENSIONS: key + cert signed by the CA above.
issue() {
  local name="$1" subj="$2" ext="$3"
  openssl_quiet req -new -newkey rsa:2048 -nodes -sha256 \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" -subj "$subj"
  openssl_quiet x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -out "$pki/$name.crt" \
    -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "$ext")
  rm -f "$pki/$name.csr"
}
# 10.0.0.1 and the kubernetes.default names are what in-cluster clients would
# use (first IP of the service range); harmless here, but keeps the cert honest.
issue apiserver "/CN=kube-apiserver" \
  "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${node_ip:+,IP:$node_ip}"
issue admin "/O=system:masters/CN=microapp-admin" "extendedKeyUsage=clientAuth"
issue controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
# the apiserver's identity towards the kubelet (logs, exec, port-forward); e2e/node/up.sh binds
# it to the system:kubelet-api-admin ClusterRole, which the kubelet's webhook authorizer checks
[[ -n "$node_ip" ]] && issue kubelet-client "/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"

openssl_quiet genrsa -out "$pki/sa.key" 2048
openssl_quiet rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
chmod 600 "$pki"/*.key

# --- kubeconfigs (certs embedded, so the file alone is enough for any client) --
b64() { base64 -w0 <"$1"; }
write_kubeconfig() { # FILE USER CERT KEY
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: microapp-$CP_NAME
  cluster:
    server: $apiserver_url
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: microapp-$CP_NAME
  context:
    cluster: microapp-$CP_NAME
    user: $2
current-context: microapp-$CP_NAME
EOF
  chmod 600 "$1"
}
write_kubeconfig "$state/kubeconfig" admin "$pki/admin.crt" "$pki/admin.key"
write_kubeconfig "$state/controller-manager.kubeconfig" system:kube-controller-manager \
  "$pki/controller-manager.crt" "$pki/controller-manager.key"

cat >"$state/env" <<EOF
# source this file to talk to control plane '$CP_NAME'
export KUBECONFIG=$state/kubeconfig
export APISERVER_URL=$apiserver_url
export ETCD_URL=$etcd_url
EOF
[[ -n "$node_ip" ]] && echo "export NODE_IP=$node_ip" >>"$state/env"

# --- process helpers -----------------------------------------------------------
# start PROC ARGS...: cp_start (lib.sh: own session, logs/PROC.log, pid recorded, and the
# command line kept so restart.sh can start the same process again after a fault).
start() {
  local proc="$1"; shift
  current_log="$state/logs/$proc.log"
  cp_start "$proc" "$@"
}
pid_of() { cp_pid_of "$1"; }

# wait_for PROC WHAT CMD...: retry CMD until it succeeds; fail fast if PROC died,
# fail after the overall timeout.
wait_for() {
  local proc="$1" what="$2"; shift 2
  current_log="$state/logs/$proc.log"
  until "$@" >/dev/null 2>&1; do
    if ! cp_pid_ours "$(pid_of "$proc")"; then
      echo "up.sh: $proc exited while waiting for $what" >&2
      return 1
    fi
    if ((SECONDS - t0 > timeout_s)); then
      echo "up.sh: timed out after ${timeout_s}s waiting for $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# --- etcd ------------------------------------------------------------------------
# Client and peer URLs on loopback; metrics are served on the client URL (no
# --listen-metrics-urls), so etcd opens nothing else. The data is thrown away
# with the instance, so skipping fsync is safe and makes the apiserver snappier.
start etcd \
  --name="microapp-$CP_NAME" \
  --data-dir="$state/etcd" \
  --listen-client-urls="$etcd_url" \
  --advertise-client-urls="$etcd_url" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="microapp-$CP_NAME=http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster-state=new \
  --initial-cluster-token="microapp-$CP_NAME-$$" \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_for etcd "etcd /health" curl -fsS "$etcd_url/health"

# --- kube-apiserver -------------------------------------------------------------
# Default admission plugins stay on (incl. PodSecurity and ServiceAccount: the
# serviceaccount controller below creates the "default" ServiceAccount every
# namespace needs before pods can be admitted).
# --endpoint-reconciler-type=none: the "kubernetes" Service keeps no Endpoints,
# because a loopback advertise address is not a valid endpoint IP (the default
# reconciler would log an error every 10 s); nothing here runs in-cluster anyway.
# In node-IP mode the node IP is a valid endpoint, so the default (lease) reconciler
# publishes it and pods reach the API through 10.0.0.1:443.
apiserver_mode_flags=(--endpoint-reconciler-type=none)
if [[ -n "$node_ip" ]]; then
  apiserver_mode_flags=(
    --kubelet-preferred-address-types=InternalIP
    --kubelet-client-certificate="$pki/kubelet-client.crt"
    --kubelet-client-key="$pki/kubelet-client.key"
    --kubelet-certificate-authority="$pki/ca.crt"
  )
fi
start kube-apiserver \
  --etcd-servers="$etcd_url" \
  --bind-address="$api_ip" \
  --advertise-address="$api_ip" \
  --secure-port="$apiserver_port" \
  --cert-dir="$state/apiserver-certs" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$service_cidr" \
  "${apiserver_mode_flags[@]}" \
  --allow-privileged=true \
  --profiling=false \
  --v=1
wait_for kube-apiserver "kube-apiserver /readyz" \
  "$kubectl" --kubeconfig="$state/kubeconfig" --request-timeout=5s get --raw /readyz

# --- kube-controller-manager -----------------------------------------------------
# Only the controllers the operator's workloads need (no node/cloud/volume ones,
# which would just complain about the missing kubelet). Names per
# `kube-controller-manager --help` in 1.34.
controllers=(
  garbage-collector-controller
  namespace-controller
  serviceaccount-controller
  serviceaccount-token-controller
  root-ca-certificate-publisher-controller
  deployment-controller
  replicaset-controller
  statefulset-controller
  daemonset-controller
  job-controller
  cronjob-controller
  ttl-after-finished-controller
  endpoints-controller
  endpointslice-controller
  endpointslice-mirroring-controller
  resourcequota-controller
  clusterrole-aggregation-controller
  disruption-controller
  horizontal-pod-autoscaler-controller
)
# With a node: the node's lifecycle (clears the not-ready taint, evicts from a dead node), its
# pod CIDR (nodeipam), volume claims and the pod garbage collector.
kcm_mode_flags=()
if [[ -n "$node_ip" ]]; then
  controllers+=(
    node-lifecycle-controller
    taint-eviction-controller
    node-ipam-controller
    ttl-controller
    pod-garbage-collector-controller
    persistentvolume-binder-controller
    persistentvolume-protection-controller
    persistentvolumeclaim-protection-controller
    persistentvolume-expander-controller
    ephemeral-volume-controller
    persistentvolume-attach-detach-controller
  )
  kcm_mode_flags=(--allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24
    --service-cluster-ip-range="$service_cidr")
fi
ctrl_list="$(IFS=,; echo "${controllers[*]}")"
# Its own HTTPS port (/healthz, /metrics) is on loopback too. Client certs are
# checked against our CA directly (--authentication-skip-lookup: the apiserver has
# no front-proxy CA to look up, which would otherwise log an error every few
# seconds); tokens and authorization go to the apiserver with its own kubeconfig.
# So `curl --cacert/--cert/--key` with the admin cert can read its /metrics.
start kube-controller-manager \
  --kubeconfig="$state/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
  --authentication-skip-lookup=true \
  --client-ca-file="$pki/ca.crt" \
  --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
  --leader-elect=false \
  --controllers="$ctrl_list" \
  "${kcm_mode_flags[@]}" \
  --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=true \
  --bind-address=127.0.0.1 \
  --secure-port="$kcm_port" \
  --cert-dir="$state/controller-manager-certs" \
  --profiling=false \
  --v=1

# Ready = the API answers for the admin AND the controller manager is working
# (it has created the "default" ServiceAccount), so tests can create pods at once.
wait_for kube-controller-manager "kubectl get ns" \
  "$kubectl" --kubeconfig="$state/kubeconfig" --request-timeout=5s get ns
wait_for kube-controller-manager "the controller manager (default ServiceAccount)" \
  "$kubectl" --kubeconfig="$state/kubeconfig" --request-timeout=5s -n default get serviceaccount default

started=1
echo "control plane '$CP_NAME' is up in $((SECONDS - t0))s: $apiserver_url (etcd $etcd_url)"
print_usage_hint
