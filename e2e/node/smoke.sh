#!/usr/bin/env bash
# Proves the node works end to end, the way the e2e tests will use it:
#
#   e2e/node/smoke.sh [NAME]     # starts the node if needed; tears it down at the end
#                                # (NODE_SMOKE_KEEP=1 keeps it running)
#
# In namespaces with Pod Security "restricted" enforced: a Deployment of the nettest image
# (non-root, seccomp RuntimeDefault, read-only root) answers from the host by pod IP and Service
# IP; a second pod resolves cluster names and the ingress domains through CoreDNS and reaches the
# API server through 10.0.0.1:443; a NetworkPolicy blocks another namespace's pod while the
# allowed one passes; a Certificate from the CA ClusterIssuer becomes Ready; kubectl logs and exec
# work; a CronJob's Job runs to completion; deleting a namespace removes its pods. Then down.sh
# and check-clean.sh. Prints one line per check and "N passed, N failed".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
name="${1:-default}"
cp_init "$name"
t0=$SECONDS

"$here/up.sh" "$name"
t_up=$((SECONDS - t0))
# shellcheck disable=SC1091
source "$CP_STATE/env"
k() { "$CP_BIN/kubectl" --request-timeout=20s "$@"; }
passed=0 failed=0 failures=()
check() { # NAME CMD...: run CMD, record the outcome
  local what="$1" out; shift
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1)); echo "ok    $what"
  else
    failed=$((failed + 1)); failures+=("$what"); echo "FAIL  $what"; sed 's/^/      /' <<<"$out" | tail -n 15
  fi
}
# until_ok SECONDS CMD...: retry CMD for up to SECONDS
until_ok() {
  local deadline=$((SECONDS + $1)) out; shift
  until out="$("$@" 2>&1)"; do
    ((SECONDS < deadline)) || { echo "$out"; return 1; }
    sleep 1
  done
  echo "$out"
}
finish() {
  local rc=$?
  if [[ -z "${NODE_SMOKE_KEEP:-}" ]]; then
    local t=$SECONDS
    if "$here/down.sh" "$name"; then
      passed=$((passed + 1)); echo "ok    down.sh and check-clean.sh ($((SECONDS - t))s)"
    else
      failed=$((failed + 1)); failures+=("down.sh / check-clean.sh"); echo "FAIL  down.sh / check-clean.sh"
    fi
  fi
  echo "smoke: up ${t_up}s, total $((SECONDS - t0))s"
  ((failed == 0)) || printf 'smoke: failed: %s\n' "${failures[@]}"
  echo "$passed passed, $failed failed"
  ((failed == 0 && rc == 0)) || exit 1
}
trap finish EXIT

"$here/build-images.sh" >/dev/null
"$here/load-images.sh" "$NODE_ADDONS/images/nettest.tar" >/dev/null

# --- workloads ----------------------------------------------------------------------------------
# The restricted profile's settings, shared by every pod below. pod_sc INDENT / ctr_sc INDENT print
# them at the indentation of the pod spec's / the container's keys.
pod_sc() { sed "s/^/$(printf '%*s' "$1" '')/" <<'YAML'
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile: {type: RuntimeDefault}
YAML
}
ctr_sc() { sed "s/^/$(printf '%*s' "$1" '')/" <<'YAML'
imagePullPolicy: Never
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
YAML
}
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: smoke-a
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
---
apiVersion: v1
kind: Namespace
metadata:
  name: smoke-b
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: smoke-a}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
$(pod_sc 6)
      containers:
      - name: hello
        image: $NETTEST_IMAGE
        args: [serve, ":8080"]
        ports: [{name: http, containerPort: 8080}]
$(ctr_sc 8)
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: smoke-a}
spec:
  selector: {app: hello}
  ports: [{name: http, port: 80, targetPort: http}]
---
# the client stays up so the test can exec probes in it; it keeps its service account token, whose
# ca.crt verifies the API server
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: smoke-a, labels: {app: client}}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: client
    image: $NETTEST_IMAGE
    args: [serve, ":8081"]
$(ctr_sc 4)
---
apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: smoke-b, labels: {app: intruder}}
spec:
$(pod_sc 2)
  containers:
  - name: intruder
    image: $NETTEST_IMAGE
    args: [serve, ":8081"]
$(ctr_sc 4)
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: smoke-a}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
$(pod_sc 10)
          restartPolicy: Never
          containers:
          - name: tick
            image: $NETTEST_IMAGE
            args: [echo, "tick done"]
$(ctr_sc 12)
YAML

check "Deployment rolled out (restricted namespace, non-root, read-only root)" \
  k -n smoke-a rollout status deploy/hello --timeout=90s
check "client pod Ready" k wait --for=condition=Ready --timeout=60s -n smoke-a pod/client
k wait --for=condition=Ready --timeout=60s -n smoke-b pod/intruder >/dev/null 2>&1 || true

hello_pod="$(k -n smoke-a get pod -l app=hello -o jsonpath='{.items[0].metadata.name}')"
hello_ip="$(k -n smoke-a get pod "$hello_pod" -o jsonpath='{.status.podIP}')"
svc_ip="$(k -n smoke-a get svc hello -o jsonpath='{.spec.clusterIP}')"
host_get() { [[ "$(curl -fsS --max-time 5 "$1")" == "$hello_pod" ]]; }
check "pod IP $hello_ip answers from the host with its hostname" host_get "http://$hello_ip:8080/"
check "Service $svc_ip answers from the host" until_ok 20 host_get "http://$svc_ip/"
root_pod_rejected() {
  local out
  out="$(k -n smoke-a run bad --image="$NETTEST_IMAGE" --restart=Never --dry-run=server -- serve 2>&1)" && return 1
  grep -q 'violates PodSecurity' <<<"$out"
}
check "Pod Security admission rejects a root pod in the restricted namespace" root_pod_rejected

ex() { k -n smoke-a exec client -- /nettest "$@"; }
# expect OUTPUT CMD...: CMD prints exactly OUTPUT (its last line)
expect() { local want="$1" got; shift; got="$("$@" 2>&1)" || { echo "$got"; return 1; }
  [[ "$(tail -n1 <<<"$got")" == "$want" ]] || { echo "expected '$want', got: $got"; return 1; }; }
check "kubectl exec works" expect exec-ok ex echo exec-ok
logs_ok() { grep -q "serving $hello_pod" <<<"$(k -n smoke-a logs "$hello_pod")"; }
check "kubectl logs works" logs_ok
check "DNS: kubernetes.default.svc.cluster.local -> 10.0.0.1" expect 10.0.0.1 ex lookup kubernetes.default.svc.cluster.local
check "DNS: hello.smoke-a.svc.cluster.local -> $svc_ip" expect "$svc_ip" ex lookup hello.smoke-a.svc.cluster.local
check "DNS: short name 'hello' through the search path" expect "$svc_ip" ex lookup hello
check "DNS: where2eat.apps.example.com -> the ingress IP $INGRESS_IP" expect "NOERROR $INGRESS_IP" ex dns "$DNS_IP:53" where2eat.apps.example.com A
check "DNS: AAAA of an ingress name is an empty NOERROR" expect NOERROR ex dns "$DNS_IP:53" where2eat.apps.example.com AAAA
check "DNS: names outside the cluster are NXDOMAIN (no host resolver)" expect NXDOMAIN ex dns "$DNS_IP:53" deb.debian.org A
sa_ca=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt
check "API server through 10.0.0.1:443, TLS verified with the pod's CA" expect "200 ok" ex get https://10.0.0.1:443/healthz "$sa_ca"
check "API server as https://kubernetes.default.svc" expect "200 ok" ex get https://kubernetes.default.svc/readyz "$sa_ca"
check "pod to Service by name" expect "200 $hello_pod" ex get http://hello.smoke-a/

# --- NetworkPolicy -----------------------------------------------------------------------------
check "before any policy, smoke-b reaches hello" \
  k -n smoke-b exec intruder -- /nettest tcp "$hello_ip:8080"
k apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: hello-from-own-namespace, namespace: smoke-a}
spec:
  podSelector: {matchLabels: {app: hello}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {}
YAML
# blocked NS POD ADDR: the probe ran in the pod and could not connect (not: kubectl failed)
blocked() { local out; out="$(k -n "$1" exec "$2" -- /nettest tcp "$3" 2>&1)" && { echo "connected: $out"; return 1; }
  grep -q '^nettest: ' <<<"$out" || { echo "$out"; return 1; }; }
check "NetworkPolicy: smoke-b's pod is blocked" until_ok 30 blocked smoke-b intruder "$hello_ip:8080"
check "NetworkPolicy: smoke-a's pod still passes" ex tcp "$hello_ip:8080"
check "NetworkPolicy: the Service path from smoke-b is blocked too" blocked smoke-b intruder "$svc_ip:80"

# --- cert-manager ------------------------------------------------------------------------------
k apply -f - >/dev/null <<YAML
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: hello-tls, namespace: smoke-a}
spec:
  secretName: hello-tls
  dnsNames: [hello.example.com]
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: microapp-local-ca}
YAML
check "Certificate from ClusterIssuer microapp-local-ca Ready" \
  k -n smoke-a wait --for=condition=Ready --timeout=60s certificate/hello-tls
chain_ok() {
  k -n smoke-a get secret hello-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$CP_STATE/hello-tls.crt"
  openssl verify -CAfile "$INGRESS_CA" "$CP_STATE/hello-tls.crt"
}
check "the certificate chains to <state>/ingress-ca.crt" chain_ok
# no dnsNames, commonName or other identity: cert-manager's webhook refuses it
invalid_cert_rejected() {
  local out
  out="$(k apply --dry-run=server -f - 2>&1 <<'YAML'
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: bad, namespace: smoke-a}
spec:
  secretName: bad
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: microapp-local-ca}
YAML
)" && { echo "accepted: $out"; return 1; }
  grep -q 'denied the request' <<<"$out" || { echo "$out"; return 1; }
}
check "cert-manager's webhook rejects an invalid Certificate" invalid_cert_rejected

# --- CronJob ---------------------------------------------------------------------------------------
job_done() {
  local pods
  pods="$(k -n smoke-a get pods -l batch.kubernetes.io/job-name -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')"
  grep -qx Succeeded <<<"$pods"
}
check "a CronJob-created Job pod runs to completion (next minute)" until_ok 90 job_done
job_logged() { grep -q 'tick done' <<<"$(k -n smoke-a logs -l batch.kubernetes.io/job-name --tail=5)"; }
check "the Job's pod logged its work" job_logged

# --- deleting a namespace removes its pods --------------------------------------------------------
k delete namespace smoke-b --wait=false >/dev/null
ns_gone() { ! k get namespace smoke-b >/dev/null 2>&1 && [[ -z "$(k -n smoke-b get pods -o name 2>/dev/null)" ]]; }
check "deleting namespace smoke-b removes its pod and the namespace" until_ok 90 ns_gone
k delete namespace smoke-a --wait=false >/dev/null
