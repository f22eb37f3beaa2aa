#!/usr/bin/env bash
# End-to-end test of the Helm chart on a fresh local control plane (e2e/control-plane/up.sh):
#
#   1. offline chart checks (chart-check.sh: lint, CRDs identical to crds/, schema rejections)
#   2. helm install; the rendered manifests pass a server-side dry run; the ServiceMonitor follows
#      the live API; the operator's pod passes Pod Security "restricted" admission
#   3. the operator jar runs as a local process under the chart's ServiceAccount identity (a
#      kubeconfig carrying only a token minted for it) with the env of the installed Deployment,
#      and reconciles the examples: children, status, Events, sealed values (NOTES steps as a
#      plain signed-in user), purge CronJob off and on, drift repair, Ingress removal, no 403
#   4. that identity is denied what the operator does not need (kubectl auth can-i, and real
#      requests with the token), and the chart's ValidatingAdmissionPolicy refuses, naming the rule,
#      what RBAC cannot tell apart: writes in kube-system, foreign (unlabelled) objects, adopting
#      one by adding the label, service-account-token Secrets, pod templates other than the
#      restricted one the operator renders (the operator reconciled everything above under it)
#   5. helm upgrade with new default limits; two operator processes with leader election (as
#      with replicaCount=2): one leads, apps converge to the new limits, failover works
#   6. helm upgrade to watchNamespaces: the identity loses everything outside the app namespace,
#      the operator keeps working
#   7. helm uninstall keeps the CRD and the MicroApps; the token stops working; reinstall works
#
# One PASS/FAIL line per check; exits non-zero if any check failed. Safe to re-run: it replaces
# any previous instance of its control plane and always stops what it started (trap on exit).
#
#   e2e/helm/helm-e2e.sh
#
# Environment:
#   HELM_E2E_NAME   control plane instance name (default helm-e2e)
#   HELM_E2E_KEEP   "true": leave the control plane and the work dir for debugging
#   KUBE_API_TEST_DIR, CONTROL_PLANE_STATE_DIR   as for e2e/control-plane
# Needs: Go (first run only, builds helm), java 17+, python3, curl, openssl, and
# operator/target/microapp-operator-all.jar (mvn -pl operator -am -DskipTests package).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cp_dir="$root/e2e/control-plane"
# shellcheck source=../control-plane/versions.env
source "$cp_dir/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"

t_start=$SECONDS
name="${HELM_E2E_NAME:-helm-e2e}"
keep="${HELM_E2E_KEEP:-false}"
release=microapp-operator
ns=microapp-system
sa=microapp-operator               # the chart's ServiceAccount (fullname == release name)
lease=microapp-operator
app_ns=team-food
jar="$root/operator/target/microapp-operator-all.jar"
chart="$root/helm/microapp-operator"
kubectl="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64/kubectl"
state="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}/$name"
work="$(mktemp -d "${TMPDIR:-/tmp}/helm-e2e.XXXXXX")"
mkdir -p "$work/home"
: >"$work/operators"

for tool in java python3 curl; do
  command -v "$tool" >/dev/null || { echo "helm-e2e.sh: '$tool' is required" >&2; exit 1; }
done
[[ -f "$jar" ]] || { echo "helm-e2e.sh: $jar is missing; build it: mvn -q -o -pl operator -am -DskipTests package" >&2; exit 1; }
HELM="$("$cp_dir/build-helm.sh" | tail -n 1)"
export HELM
# A private copy: a rebuild of the jar during the run must not pull classes out from under it.
cp "$jar" "$work/microapp-operator-all.jar"
jar="$work/microapp-operator-all.jar"

# ---- cleanup: stop exactly the processes this script started, then the control plane ----------
stop_pid() { # PID: TERM, wait up to 20 s, then KILL (and return 1)
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  echo "still running 20s after SIGTERM; sent SIGKILL"
  return 1
}
on_exit() {
  local rc=$? label pid port
  while read -r label pid port; do stop_pid "$pid" || true; done <"$work/operators"
  if [[ "$keep" == true ]]; then
    echo "kept: control plane '$name' (KUBECONFIG=$state/kubeconfig), logs in $work"
  else
    "$cp_dir/down.sh" "$name" >/dev/null 2>&1 || true
    if ((rc == 0 && CHECKS_FAILED == 0)); then rm -rf "$work"; else echo "logs kept in $work"; fi
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- helpers --------------------------------------------------------------------------------------
k() { "$kubectl" --kubeconfig "$state/kubeconfig" "$@"; }               # cluster admin
ksa() { "$kubectl" --kubeconfig "$work/sa.kubeconfig" "$@"; }           # the operator's identity
h() { "$HELM" --kubeconfig "$state/kubeconfig" "$@"; }
as_sa="system:serviceaccount:$ns:$sa"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The env of the installed Deployment's container, one NAME=value per line. POD_NAMESPACE comes
# and POD_NAME come from the downward API in a pod; here they are the release namespace and the
# process label (start_operator sets them).
deployment_env() {
  k -n "$ns" get deployment "$release" -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for e in d["spec"]["template"]["spec"]["containers"][0]["env"]:
    if "valueFrom" in e:
        if e["valueFrom"].get("fieldRef", {}).get("fieldPath") not in ("metadata.namespace", "metadata.name"):
            sys.exit("unexpected valueFrom for " + e["name"])
        continue
    print("%s=%s" % (e["name"], e.get("value", "")))
'
}

# start_operator LABEL ARGS...: runs the jar with the Deployment's env and only the SA kubeconfig
# (env -i: no admin KUBECONFIG, no ~/.kube/config), logs to $work/LABEL.log, waits for /readyz.
start_operator() {
  local label="$1" port pid envs=() i; shift
  port="$(free_port)"
  mapfile -t envs < <(deployment_env)
  printf '%s\n' "${envs[@]}" >"$work/$label.env"
  env -i PATH="$PATH" HOME="$work/home" KUBECONFIG="$work/sa.kubeconfig" POD_NAMESPACE="$ns" \
    POD_NAME="$label" HOSTNAME="$label" "${envs[@]}" \
    java -Xmx384m -jar "$jar" run --http-address 127.0.0.1 --http-port "$port" "$@" \
    >"$work/$label.log" 2>&1 </dev/null &
  pid=$!
  disown "$pid"     # stopped by stop_pid; no job-control chatter when it has to be killed
  echo "$label $pid $port" >>"$work/operators"
  for i in $(seq 180); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      pass "operator '$label' under the chart's identity is ready (/readyz 200, port $port)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "operator '$label' started" "exited; last log lines: $(tail_of "$(tail -n 5 "$work/$label.log")")"
      return 1
    fi
    sleep 0.5
  done
  fail "operator '$label' became ready" "no /readyz 200 within 90s"
  return 1
}
operator_field() { awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$work/operators" | tail -n 1; }
# stop_operator LABEL: SIGTERM, as the kubelet does; it must exit within the grace period
# (20 s here, the pod's terminationGracePeriodSeconds is 30).
stop_operator() {
  local pid; pid="$(operator_field "$1" 2)"
  [[ -n "$pid" ]] || return 0
  check "operator '$1' exits within 20s of SIGTERM" stop_pid "$pid"
}

# No request of the operator was refused: the chart grants everything its code uses.
no_forbidden_in_log() {
  if grep -Ei 'forbidden|HTTP 403|"code":403' "$work/$1.log" >"$work/$1.forbidden"; then
    head -n 3 "$work/$1.forbidden" | cut -c1-300
    return 1
  fi
}

# ---- checks as functions, so "eventually" can retry them ----------------------------------------
exists() { k -n "$1" get "$2" "$3" -o name >/dev/null; }
managed() { [[ "$(k -n "$1" get "$2" "$3" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')" == microapp-operator ]]; }
condition() { # NS APP TYPE STATUS
  local got
  got="$(k -n "$1" get microapp "$2" -o jsonpath="{.status.conditions[?(@.type==\"$3\")].status}")"
  [[ "$got" == "$4" ]] || { echo "$3=$got"; return 1; }
}
observed_current() {
  local gen obs
  gen="$(k -n "$1" get microapp "$2" -o jsonpath='{.metadata.generation}')"
  obs="$(k -n "$1" get microapp "$2" -o jsonpath='{.status.observedGeneration}')"
  [[ -n "$obs" && "$gen" == "$obs" ]] || { echo "generation $gen, observedGeneration $obs"; return 1; }
}
limit_rpm() { # NS INGRESS VALUE
  local got
  got="$(k -n "$1" get ingress "$2" -o jsonpath='{.metadata.annotations.nginx\.ingress\.kubernetes\.io/limit-rpm}')"
  [[ "$got" == "$3" ]] || { echo "limit-rpm=$got, want $3"; return 1; }
}
gone() { ! k -n "$1" get "$2" "$3" -o name 2>/dev/null | quiet_grep .; }
cluster_gone() { ! k get "$1" "$2" -o name 2>/dev/null | quiet_grep .; }
event_from_operator() {
  k -n "$1" get events -o jsonpath='{range .items[*]}{.reportingComponent}{" "}{.involvedObject.name}{"\n"}{end}' \
    | quiet_grep "^microapp-operator $2\$"
}
lease_holder() { k -n "$ns" get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
holder_is() { local got; got="$(lease_holder)"; [[ "$got" == "$1" ]] || { echo "holder=$got"; return 1; }; }
holder_is_one_of() { local got; got="$(lease_holder)"; [[ " $* " == *" $got "* && -n "$got" ]] || { echo "holder=$got"; return 1; }; }

# can-i through impersonation (as the admin), answer must be exactly yes/no.
can_i() { k auth can-i --as="$as_sa" "$@" 2>/dev/null || true; }
denied() { # can-i must say no
  local got; got="$(can_i "$@")"
  if [[ "$got" == no ]]; then pass "denied: $*"; else fail "denied: $*" "can-i says '$got'"; fi
}
allowed() { # sanity: the same mechanism says yes for what the operator needs
  local got; got="$(can_i "$@")"
  if [[ "$got" == yes ]]; then pass "allowed: $*"; else fail "allowed: $*" "can-i says '$got'"; fi
}
forbidden_for_sa() { # NAME KUBECTL-ARGS...: a real request with the token gets 403 Forbidden
  local name="$1"; shift
  check_fails "token request refused: $name" '[Ff]orbidden' ksa "$@"
}
# The chart's ValidatingAdmissionPolicy (templates/admission-policy.yaml) bound to the operator's
# identity. Each rule's message starts with the rule's name.
policy="$release-bounds"
refused_by_policy() { # NAME RULE CMD...: refused by the policy, and the refusal names RULE
  local name="$1" rule="$2"; shift 2
  check_fails "admission policy refuses: $name [$rule]" \
    "ValidatingAdmissionPolicy '$policy' with binding '$policy' denied request: $rule:" "$@"
}
# A labelled Deployment shaped like the one the operator renders (AppDeployment,
# RestrictedPodSecurity), with one thing changed: workload NAME NS VARIANT (restricted: nothing).
workload() { python3 "$work/workload.py" "$@"; }
cat >"$work/workload.py" <<'PY'
import json, sys
name, ns, variant = sys.argv[1], sys.argv[2], sys.argv[3]
labels = {"safedefaults.io/app": name, "app.kubernetes.io/name": name,
          "app.kubernetes.io/managed-by": "microapp-operator"}
container = {"name": "app", "image": "ghcr.io/acme/where2eat:1.4.2",
             "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                 "runAsNonRoot": True, "privileged": False, "capabilities": {"drop": ["ALL"]}},
             "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}
pod = {"serviceAccountName": name, "automountServiceAccountToken": False, "enableServiceLinks": False,
       "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                           "seccompProfile": {"type": "RuntimeDefault"}},
       "containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}]}
sc = container["securityContext"]
if variant == "privileged":
    sc["privileged"] = True; sc["allowPrivilegeEscalation"] = True
elif variant == "hostpath":
    pod["volumes"].append({"name": "root", "hostPath": {"path": "/"}})
    container["volumeMounts"].append({"name": "root", "mountPath": "/host"})
elif variant == "root":
    pod["securityContext"]["runAsUser"] = 0
elif variant == "other-sa":
    pod["serviceAccountName"] = "default"
elif variant == "token":
    pod["automountServiceAccountToken"] = True
elif variant == "projected-token":
    pod["volumes"].append({"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}})
elif variant == "hostnetwork":
    pod["hostNetwork"] = True
elif variant == "cap-add":
    sc["capabilities"]["add"] = ["SYS_ADMIN"]
elif variant == "unlabelled":
    del labels["app.kubernetes.io/managed-by"]
elif variant != "restricted":
    sys.exit("unknown variant " + variant)
print(json.dumps({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": name, "namespace": ns, "labels": labels},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"safedefaults.io/app": name}},
                           "template": {"metadata": {"labels": labels}, "spec": pod}}}))
PY
# sa_apply NAME: server-side apply (dry run) of stdin with the token, as the operator writes.
sa_apply() { ksa apply --server-side --field-manager=microapp-operator --force-conflicts --dry-run=server -f -; }
# sa_merge_patch PATH BODY: a JSON merge patch (dry run) with the token, straight to the API: kubectl
# patch would GET first, which RBAC refuses before admission is asked.
sa_merge_patch() {
  local out
  out="$(curl -sS --cacert "$work/ca.crt" -H "Authorization: Bearer $token" -X PATCH \
    -H 'Content-Type: application/merge-patch+json' --data "$2" "$server$1?dryRun=All")" || return 1
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(d.get("message", "")); sys.exit(d.get("kind") == "Status")' "$out"
}
with_label() { k label -f - --local -o json app.kubernetes.io/managed-by=microapp-operator; }

echo "== helm-e2e: work dir $work, helm $("$HELM" version --template '{{.Version}}'), kubernetes v$KUBE_VERSION"

# ==== 1. offline chart checks ========================================================================
echo "== chart checks (offline)"
chart_out="$("$here/chart-check.sh" 2>&1)" && chart_rc=0 || chart_rc=$?
grep -E '^(PASS|FAIL)' <<<"$chart_out" || true
CHECKS_PASSED=$((CHECKS_PASSED + $(grep -c '^PASS' <<<"$chart_out" || true)))
while IFS= read -r line; do
  CHECKS_FAILED=$((CHECKS_FAILED + 1)); FAILED_NAMES+=("${line#FAIL }")
done < <(grep '^FAIL' <<<"$chart_out" || true)
((chart_rc == 0)) || [[ "$chart_out" == *FAIL* ]] || fail "chart-check.sh ran" "$(tail_of "$chart_out")"

# ==== 2. install ======================================================================================
echo "== control plane '$name'"
"$cp_dir/down.sh" "$name" >/dev/null 2>&1 || true     # a leftover from an aborted run
"$cp_dir/up.sh" "$name" >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
pass "control plane '$name' is up"

echo "== helm install"
# The release namespace enforces Pod Security "restricted", so the API server judges the
# operator's own pod template.
k create namespace "$ns" >/dev/null
k label namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted >/dev/null
install_values=(--set ingress.clusterIssuer=letsencrypt-e2e
  --set defaults.issuer=https://login.example.com/realms/acme)
check "helm install" h install "$release" "$chart" -n "$ns" "${install_values[@]}"
check "CRD microapps.safedefaults.io is established" \
  k wait --for=condition=Established --timeout=30s crd/microapps.safedefaults.io

dry_run() { h template "$release" "$chart" -n "$ns" "$@" | k apply --dry-run=server -f - ; }
check "server-side dry run accepts the render (install values)" dry_run "${install_values[@]}"
check "server-side dry run accepts the render (2 replicas, PDB, NetworkPolicy, namespace list)" \
  dry_run "${install_values[@]}" --set replicaCount=2 --set podDisruptionBudget.enabled=true \
  --set networkPolicy.enabled=true --set 'networkPolicy.apiServer.cidrs={10.0.0.1/32}' \
  --set networkPolicy.dns=true --set "watchNamespaces={$ns}" --set operator.logLevel=DEBUG
# The optional ServiceMonitor follows the live cluster's APIs (.Capabilities), not a guess.
sm_count() { # number of ServiceMonitors rendered against the live cluster (fails if helm does)
  local out
  out="$(h template "$release" "$chart" -n "$ns" --validate "${install_values[@]}" \
    --set monitoring.serviceMonitor.enabled=true)" || return 1
  grep -c '^kind: ServiceMonitor$' <<<"$out" || true
}
sm_absent() { local n; n="$(sm_count)" && [[ "$n" == 0 ]]; }
check "no ServiceMonitor while the cluster has no monitoring.coreos.com/v1 API" sm_absent
k apply -f - >/dev/null <<'EOF_CRD'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
EOF_CRD
k wait --for=condition=Established --timeout=30s crd/servicemonitors.monitoring.coreos.com >/dev/null
sm_present() { local n; n="$(sm_count)" && [[ "$n" == 1 ]]; }
eventually 30 "a ServiceMonitor once the API exists (stand-in CRD)" sm_present
k delete crd servicemonitors.monitoring.coreos.com --wait=true >/dev/null

operator_pod_admitted() {
  k -n "$ns" get pods -l app.kubernetes.io/name=microapp-operator -o name | quiet_grep pod/
}
eventually 30 "the operator's pod passes Pod Security 'restricted' admission (created by its ReplicaSet)" \
  operator_pod_admitted

# ==== 3. the operator under the chart's identity ==================================================
echo "== operator as ServiceAccount $ns/$sa"
token="$(k -n "$ns" create token "$sa" --duration=2h)"
server="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
ca="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
umask 077
cat >"$work/sa.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "$server", certificate-authority-data: "$ca"}
users:
- name: $sa
  user: {token: "$token"}
contexts:
- name: $sa
  context: {cluster: e2e, user: $sa}
current-context: $sa
EOF
base64 -d <<<"$ca" >"$work/ca.crt"
umask 022
sa_only() {
  ! grep -Eq 'client-(certificate|key)' "$work/sa.kubeconfig" &&
    [[ "$(ksa auth whoami -o jsonpath='{.status.userInfo.username}')" == "$as_sa" ]]
}
check "the operator's kubeconfig carries only the ServiceAccount token (whoami = $as_sa)" sa_only

start_operator op1 --no-leader-election || exit 1
check "env taken from the installed Deployment (MICROAPP_DEFAULT_LIMITS=100,10,60)" \
  grep -qx 'MICROAPP_DEFAULT_LIMITS=100,10,60' "$work/op1.env"

k apply -f "$root/examples/00-namespace.yaml" -f "$root/examples/where2eat.yaml" \
  -f "$root/examples/landing-page.yaml" >/dev/null
for child in serviceaccount/where2eat configmap/where2eat-auth-proxy secret/where2eat-session-keys \
  deployment/where2eat service/where2eat networkpolicy/where2eat ingress/where2eat \
  configmap/where2eat-purge secret/where2eat-purge-token cronjob/where2eat-purge; do
  eventually 60 "child $child created and labelled managed-by=microapp-operator" managed "$app_ns" "${child%%/*}" "${child#*/}"
done
eventually 30 "status written: where2eat AuthEnforced=True" condition "$app_ns" where2eat AuthEnforced True
eventually 30 "status written: where2eat TLSEnforced=True" condition "$app_ns" where2eat TLSEnforced True
eventually 30 "status: observedGeneration is current" observed_current "$app_ns" where2eat
eventually 30 "landing (public by override) gets DefaultsRelaxed=True" condition "$app_ns" landing DefaultsRelaxed True
eventually 30 "Event recorded by microapp-operator in $app_ns" event_from_operator "$app_ns" landing
app_pod_admitted() { k -n "$app_ns" get pods -l safedefaults.io/app=where2eat -o name | quiet_grep pod/; }
eventually 30 "the app's pod passes Pod Security 'restricted' in $app_ns" app_pod_admitted
eventually 30 "landing Ingress limit-rpm is the default 100" limit_rpm "$app_ns" landing 100
metrics_ok() { curl -fsS "http://127.0.0.1:$(operator_field op1 3)/metrics" | quiet_grep '^# TYPE'; }
check "/metrics answers in Prometheus format" metrics_ok

# Sealed values, as NOTES.txt tells users: any signed-in identity fetches the public key, the CLI
# seals offline, the operator opens the value into the app's Secret (create), follows a new value
# (update) and removes the Secret when the app drops its sealed values (delete).
check "sealing keyset Secret created in $ns" exists "$ns" secret microapp-sealing-keys
check "public-key ConfigMap published in $ns" exists "$ns" configmap microapp-sealing-public-key
k -n default create serviceaccount someone >/dev/null
someone_token="$(k -n default create token someone --duration=1h)"
sed -e "s/$sa/someone/g" -e "s|token: \".*\"|token: \"$someone_token\"|" "$work/sa.kubeconfig" >"$work/someone.kubeconfig"
chmod 600 "$work/someone.kubeconfig"
ksomeone() { "$kubectl" --kubeconfig "$work/someone.kubeconfig" "$@"; }
check "any signed-in user can read the public key" ksomeone -n "$ns" get configmap microapp-sealing-public-key -o name
check_fails "a signed-in user cannot read the private keyset" '[Ff]orbidden' ksomeone -n "$ns" get secret microapp-sealing-keys
cli() { env -i PATH="$PATH" HOME="$work/home" KUBECONFIG="$work/someone.kubeconfig" java -Xmx128m -jar "$jar" "$@"; }
check "NOTES step: 'keys' fetches the public keyset as a plain signed-in user" \
  cli keys --keys-namespace "$ns" --out "$work/public-keyset.json"
seal() { printf '%s' "$1" | cli seal -n "$app_ns" --app where2eat --name MAPS_API_KEY --public-key "$work/public-keyset.json" --raw; }
secret_value() { # the opened MAPS_API_KEY, or nothing
  k -n "$app_ns" get secret where2eat-sealed -o jsonpath='{.data.MAPS_API_KEY}' 2>/dev/null | base64 -d 2>/dev/null
}
value_is() { local got; got="$(secret_value)"; [[ "$got" == "$1" ]] || { echo "MAPS_API_KEY is '${got:0:3}...'"; return 1; }; }
plain1="e2e-maps-key-$RANDOM$RANDOM"; plain2="e2e-maps-key-$RANDOM$RANDOM-rotated"
if sealed1="$(seal "$plain1")" && sealed2="$(seal "$plain2")"; then
  pass "NOTES step: 'seal' seals a value offline with the public keyset"
  k -n "$app_ns" patch microapp where2eat --type merge -p "{\"spec\":{\"secrets\":{\"sealed\":{\"MAPS_API_KEY\":\"$sealed1\"}}}}" >/dev/null
  eventually 60 "a sealed value is opened into the app's Secret (create)" value_is "$plain1"
  k -n "$app_ns" patch microapp where2eat --type merge -p "{\"spec\":{\"secrets\":{\"sealed\":{\"MAPS_API_KEY\":\"$sealed2\"}}}}" >/dev/null
  eventually 60 "a new sealed value replaces the old one (update)" value_is "$plain2"
  k -n "$app_ns" patch microapp where2eat --type json -p '[{"op":"remove","path":"/spec/secrets"}]' >/dev/null
  eventually 60 "dropping the sealed values removes the app's Secret (delete)" gone "$app_ns" secret where2eat-sealed
  check "no plaintext in the operator's log" bash -c '! grep -qF -e "$1" -e "$2" "$3"' _ "$plain1" "$plain2" "$work/op1.log"
else
  fail "NOTES step: 'seal' seals a value offline with the public keyset" "$(tail_of "$sealed1")"
fi

# Switching the purge off (a justified retention override) removes the purge CronJob, its
# ServiceAccount, ConfigMap and token: the deletes granted on those kinds; switching it back on
# recreates them.
k -n "$app_ns" patch microapp where2eat --type json -p '[{"op":"add","path":"/spec/overrides","value":[{"setting":"retention","justification":"e2e: the purge is switched off for a moment"}]}]' >/dev/null
purge_gone() {
  local kind
  for kind in cronjob/where2eat-purge configmap/where2eat-purge secret/where2eat-purge-token; do
    gone "$app_ns" "${kind%%/*}" "${kind#*/}" || { echo "$kind still there"; return 1; }
  done
}
eventually 60 "a retention override removes the purge CronJob, ConfigMap, token (delete)" purge_gone
k -n "$app_ns" patch microapp where2eat --type json -p '[{"op":"remove","path":"/spec/overrides"}]' >/dev/null
eventually 60 "removing the override brings the purge CronJob back" exists "$app_ns" cronjob where2eat-purge
check "landing (retention override in the example) has no purge CronJob" gone "$app_ns" cronjob landing-purge

# Drift repair exercises watch + create (apply) + update (ConfigMap).
k -n "$app_ns" delete service where2eat --wait=true >/dev/null
eventually 60 "drift: a deleted Service comes back" exists "$app_ns" service where2eat
# (The sidecar's config is replaced, not added to: JOSDK's non-SSA matcher for ConfigMaps ignores
# keys the desired object does not have.)
k -n "$app_ns" patch configmap where2eat-auth-proxy --type merge -p '{"data":{"config.json":"{}"}}' >/dev/null
cm_restored() { k -n "$app_ns" get configmap where2eat-auth-proxy -o jsonpath='{.data.config\.json}' | quiet_grep adminPaths; }
eventually 60 "drift: a hand-edited ConfigMap is restored (update)" cm_restored
# Losing spec.host must remove the Ingress: the one delete the operator needs.
k -n "$app_ns" patch microapp where2eat --type json -p '[{"op":"remove","path":"/spec/host"}]' >/dev/null
eventually 60 "an app that drops spec.host loses its Ingress (delete)" gone "$app_ns" ingress where2eat
k -n "$app_ns" patch microapp where2eat --type merge -p '{"spec":{"host":"where2eat.apps.example.com"}}' >/dev/null
eventually 60 "the Ingress comes back with the host" exists "$app_ns" ingress where2eat
check "no request of the operator was refused (no 403 in its log)" no_forbidden_in_log op1

# ==== 4. what the identity is denied =============================================================
echo "== least privilege: what $as_sa may not do"
# Sanity first: the same check says yes to what the operator needs.
allowed list microapps.safedefaults.io --all-namespaces
allowed patch microapps.safedefaults.io/where2eat --subresource=status -n "$app_ns"
allowed create secrets -n "$app_ns"
allowed get secrets/microapp-sealing-keys -n "$ns"
allowed watch secrets/microapp-sealing-keys -n "$ns"
allowed get secrets/microapp-notify-webhooks -n "$ns"
allowed delete ingresses -n "$app_ns"
allowed update "leases/$lease" -n "$ns"
allowed patch "leases/$lease" -n "$ns"
denied create clusterrolebindings
denied create rolebindings -n "$app_ns"
denied bind clusterroles
denied escalate clusterroles
denied impersonate serviceaccounts -n "$app_ns"
denied get secrets -n "$ns"
denied get secrets -n "$app_ns"
denied patch secrets -n "$app_ns"
denied deletecollection secrets -n "$app_ns"
denied delete namespaces
denied create pods -n "$app_ns"
denied create pods --subresource=exec -n "$app_ns"
denied create serviceaccounts --subresource=token -n "$app_ns"
denied delete serviceaccounts -n "$app_ns"
denied update customresourcedefinitions.apiextensions.k8s.io
denied delete customresourcedefinitions.apiextensions.k8s.io
denied update microapps.safedefaults.io -n "$app_ns"
denied delete microapps.safedefaults.io -n "$app_ns"
# get: a host claim held by another app is checked live before it passes on (HostClaims); read-only.
allowed get microapps.safedefaults.io -n "$app_ns"
allowed list microapppolicies.safedefaults.io
denied update microapppolicies.safedefaults.io
denied delete microapppolicies.safedefaults.io
denied patch namespaces
denied delete deployments.apps -n "$app_ns"
denied update deployments.apps -n "$app_ns"
denied create jobs.batch -n "$app_ns"
denied delete jobs.batch -n "$app_ns"
denied get nodes
denied create leases.coordination.k8s.io -n kube-system
# Host claims are Leases of any name in the keys namespace, so RBAC allows update and delete
# there; the admission policy keeps the identity to labelled ones (see "leader Lease" below).

# Real requests with the token. Mutations use --dry-run=server: authorization runs before the
# dry run, so a 403 proves the refusal and nothing changes if a check ever regressed.
k -n "$ns" create secret generic not-owned --from-literal=password=hunter2 >/dev/null
k -n "$app_ns" create secret generic not-owned --from-literal=password=hunter2 >/dev/null
forbidden_for_sa "get a Secret it does not own in its own namespace" -n "$ns" get secret not-owned
forbidden_for_sa "get a Secret it does not own in an app namespace" -n "$app_ns" get secret not-owned
forbidden_for_sa "get the app's session keys by name" -n "$app_ns" get secret where2eat-session-keys
forbidden_for_sa "create a ClusterRoleBinding to cluster-admin" create clusterrolebinding e2e-pwn \
  --clusterrole=cluster-admin --serviceaccount="$ns:$sa" --dry-run=server
forbidden_for_sa "delete a namespace" delete namespace "$app_ns" --dry-run=server
forbidden_for_sa "create a pod" -n "$app_ns" run e2e-pwn --image=busybox --restart=Never --dry-run=server
forbidden_for_sa "mint a token for an app's ServiceAccount" -n "$app_ns" create token where2eat
forbidden_for_sa "patch the CRD" patch crd microapps.safedefaults.io --type merge \
  -p '{"metadata":{"labels":{"e2e":"x"}}}' --dry-run=server
forbidden_for_sa "delete a MicroApp" -n "$app_ns" delete microapp where2eat --dry-run=server
forbidden_for_sa "list nodes" get nodes
forbidden_for_sa "get another Namespace object" get namespace kube-system
# The documented trade-off of watching all namespaces: RBAC cannot scope verbs by label, so this
# identity may list -- and, for the opened-values Secrets, update and delete -- Secrets in every
# namespace, although the operator only ever touches the ones it labelled. Section 6 shows
# watchNamespaces taking that away.
check "documented trade-off (all namespaces): the identity can list Secrets cluster-wide" \
  ksa get secrets -n "$ns" -o name
allowed update secrets -n kube-system

# ---- what RBAC grants but the admission policy refuses -----------------------------------------
# Every request below is one RBAC allows (the ClusterRole covers every namespace, and cannot tell a
# child from a foreign object); the chart's ValidatingAdmissionPolicy refuses it for this identity
# only. All are dry runs: admission runs for them, so a refusal proves the bound and a regression
# changes nothing. The first refused rule is the one named, so each request breaks exactly one.
echo "== admission policy: what the token may not do although RBAC allows it"
check "the chart installed ValidatingAdmissionPolicy $policy and its binding" \
  k get validatingadmissionpolicy,validatingadmissionpolicybinding "$policy" -o name
# Controls: the same kinds of request, shaped as the operator writes them, are admitted -- so each
# refusal below is the policy's, not RBAC's or the API's.
labelled() { # NS KIND NAME [ARGS...]: a labelled object built by kubectl create --dry-run=client
  local n="$1" kind="$2" name="$3"; shift 3
  k -n "$n" create "$kind" "$@" "$name" --dry-run=client -o json | with_label
}
sa_create() { ksa create --dry-run=server -f -; }
probe_deployment() { workload e2e-probe "$1" "${2:-restricted}" | sa_apply; }
probe_secret() { labelled "$1" secret e2e-probe generic --from-literal=k=v | sa_create; }
check "admitted: a labelled Deployment with the restricted pod template the operator renders" \
  probe_deployment "$app_ns"
check "admitted: a labelled Opaque Secret in an app namespace" probe_secret "$app_ns"
claim_lease() { # a labelled Lease in the release namespace (per-host claims)
  printf '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"microapp-host-e2e","namespace":"%s","labels":{"app.kubernetes.io/managed-by":"microapp-operator"}}}' "$ns" \
    | sa_create
}
check "admitted: a labelled Lease in the release namespace" claim_lease
unlabelled_lease() {
  printf '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"kube-controller-manager","namespace":"%s"}}' "$ns" \
    | sa_create
}
refused_by_policy "create an unlabelled Lease in the release namespace" children-only unlabelled_lease
refused_by_policy "delete the leader Lease" children-only ksa -n "$ns" delete lease "$lease" --dry-run=server

# Minting tokens: a Secret of type service-account-token has the cluster fill in a token.
sa_token_secret() {
  labelled "$app_ns" secret e2e-token generic --type=kubernetes.io/service-account-token \
    | k annotate -f - --local -o json kubernetes.io/service-account.name=where2eat | sa_create
}
refused_by_policy "create a labelled service-account-token Secret for an app's ServiceAccount" no-token-secrets \
  sa_token_secret
# kube-system, whatever the labels.
refused_by_policy "create a labelled restricted Deployment in kube-system" system-namespaces \
  probe_deployment kube-system
refused_by_policy "create a labelled Secret in kube-system" system-namespaces probe_secret kube-system
# Its own namespace holds only its Leases and the sealing keys.
probe_configmap() { labelled "$1" configmap e2e-probe --from-literal=k=v | sa_create; }
refused_by_policy "create a labelled ConfigMap in the release namespace" release-namespace probe_configmap "$ns"
# Foreign objects in an app namespace: a team's own Deployment, Secret and ConfigMap.
workload foreign "$app_ns" unlabelled | k create -f - >/dev/null
k -n "$app_ns" create configmap foreign --from-literal=k=v >/dev/null
refused_by_policy "JSON merge patch of a foreign unlabelled Deployment" children-only \
  sa_merge_patch "/apis/apps/v1/namespaces/$app_ns/deployments/foreign" '{"spec":{"replicas":3}}'
take_over() { workload foreign "$app_ns" restricted | sa_apply; }
refused_by_policy "server-side apply taking over a foreign Deployment (adds the managed-by label)" children-only \
  take_over
refused_by_policy "JSON merge patch adding the managed-by label to a foreign Deployment" children-only \
  sa_merge_patch "/apis/apps/v1/namespaces/$app_ns/deployments/foreign" \
  '{"metadata":{"labels":{"app.kubernetes.io/managed-by":"microapp-operator"}}}'
foreign_put() { # KIND NAME [label]: PUT of the admin's copy, optionally with the label added
  local filter=(cat); [[ "${3:-}" == label ]] && filter=(with_label)
  k -n "$app_ns" get "$1" "$2" -o json | "${filter[@]}" | ksa replace --dry-run=server -f -
}
refused_by_policy "update (PUT) a foreign unlabelled Secret" children-only foreign_put secret not-owned
refused_by_policy "update a foreign Secret adding the managed-by label" children-only foreign_put secret not-owned label
refused_by_policy "update a foreign unlabelled ConfigMap" children-only foreign_put configmap foreign
refused_by_policy "update a foreign ConfigMap adding the managed-by label" children-only foreign_put configmap foreign label
refused_by_policy "delete a foreign Secret" children-only ksa -n "$app_ns" delete secret not-owned --dry-run=server
refused_by_policy "delete a foreign ConfigMap" children-only ksa -n "$app_ns" delete configmap foreign --dry-run=server
# Labelled Deployments whose pod template is not the restricted one the operator renders.
bad_workload() { probe_deployment "$app_ns" "$1"; }
refused_by_policy "a labelled Deployment with a privileged container" container-security-context bad_workload privileged
refused_by_policy "a labelled Deployment adding SYS_ADMIN" container-security-context bad_workload cap-add
refused_by_policy "a labelled Deployment mounting hostPath /" pod-volumes bad_workload hostpath
refused_by_policy "a labelled Deployment with a projected ServiceAccount token volume" pod-volumes bad_workload projected-token
refused_by_policy "a labelled Deployment running as runAsUser 0" pod-security-context bad_workload root
refused_by_policy "a labelled Deployment running as another ServiceAccount (default)" pod-identity bad_workload other-sa
refused_by_policy "a labelled Deployment mounting its ServiceAccount token" pod-identity bad_workload token
refused_by_policy "a labelled Deployment on the host network" pod-host bad_workload hostnetwork
nodeport_service() { labelled "$app_ns" service e2e-probe nodeport --tcp=80:80 | sa_create; }
refused_by_policy "a labelled NodePort Service" service-shape nodeport_service
foreign_selector_service() {
  labelled "$app_ns" service e2e-probe clusterip --tcp=80:80 | k label -f - --local -o json safedefaults.io/app=e2e-probe \
    | k set selector -f - --local -o json 'app=team-admin-ui' | sa_create
}
refused_by_policy "a labelled ClusterIP Service selecting another team's pods" service-shape foreign_selector_service
probe_ingress() { # SERVICE [ANNOTATION]: a labelled Ingress of app e2e-probe routing to SERVICE
  labelled "$app_ns" ingress e2e-probe --class=nginx --rule="e2e-probe.apps.example.com/*=$1:80,tls=e2e-probe-tls" \
    ${2:+--annotation="$2"} | k label -f - --local -o json safedefaults.io/app=e2e-probe | sa_create
}
check "admitted: a labelled Ingress routing to its app's own Service" probe_ingress e2e-probe
refused_by_policy "a labelled Ingress routing to another Service of the namespace" ingress-shape probe_ingress landing
refused_by_policy "a labelled Ingress with an nginx server-snippet" ingress-shape \
  probe_ingress e2e-probe 'nginx.ingress.kubernetes.io/server-snippet=return 200;'
foreign_untouched() {
  local got
  got="$(k -n "$app_ns" get deployment foreign -o jsonpath='{.spec.replicas}/{.metadata.labels.app\.kubernetes\.io/managed-by}')"
  [[ "$got" == 1/ ]] || { echo "replicas/managed-by: $got"; return 1; }
}
check "the foreign Deployment is untouched (1 replica, no managed-by label)" foreign_untouched
k -n "$app_ns" delete deployment/foreign configmap/foreign --wait=true >/dev/null

# ==== 5. upgrade with new defaults; two replicas with leader election =============================
echo "== helm upgrade: defaults.limits.perIpPerMinute=50; two operators with leader election"
stop_operator op1
check "helm upgrade --set defaults.limits.perIpPerMinute=50" \
  h upgrade "$release" "$chart" -n "$ns" --reuse-values --set defaults.limits.perIpPerMinute=50
# grep -q would stop reading early and break the pipe under pipefail: read everything.
deployment_limits() { deployment_env | grep -x 'MICROAPP_DEFAULT_LIMITS=50,10,60' >/dev/null; }
check "the Deployment's env changed, so its pods roll (MICROAPP_DEFAULT_LIMITS=50,10,60)" deployment_limits
rolled() { [[ "$(k -n "$ns" get rs -l app.kubernetes.io/name=microapp-operator -o name | wc -l)" -ge 2 ]]; }
eventually 30 "the upgrade rolled the operator's pods (a new ReplicaSet)" rolled
# Leader election on, as the chart's Deployment says (MICROAPP_LEADER_ELECTION=true): exercises
# the lease Role and JOSDK's SelfSubjectRulesReview check of it.
start_operator replica-a || exit 1
start_operator replica-b || exit 1
eventually 30 "one replica holds Lease $ns/$lease" holder_is_one_of replica-a replica-b
eventually 60 "landing converges to the new default: limit-rpm 50" limit_rpm "$app_ns" landing 50
check "where2eat keeps the limit its spec sets explicitly (100)" limit_rpm "$app_ns" where2eat 100
leader="$(lease_holder)"; standby=replica-a; [[ "$leader" == replica-a ]] && standby=replica-b
t_stop=$(date +%s%N)
stop_operator "$leader"
# A planned stop gives the Lease up (without it the holder stays the stopped leader until the lease
# expires, 15 s): right after the process exits, nobody or the standby holds it.
released() { local got; got="$(lease_holder)"; [[ "$got" != "$leader" ]] || { echo "holder=$got"; return 1; }; }
check "$leader released the Lease on SIGTERM" released
eventually 60 "failover: $standby takes the Lease after $leader stops" holder_is "$standby"
echo "     (planned handover: $(( ($(date +%s%N) - t_stop) / 1000000 )) ms from SIGTERM to $standby holding the Lease, polled each second)"
k -n "$app_ns" delete service landing --wait=true >/dev/null
eventually 60 "the new leader repairs drift (deleted Service comes back)" exists "$app_ns" service landing
check "no 403 in the log of replica-a" no_forbidden_in_log replica-a
check "no 403 in the log of replica-b" no_forbidden_in_log replica-b
stop_operator "$standby"

# ==== 6. watchNamespaces: nothing outside the app namespace ======================================
echo "== helm upgrade: watchNamespaces={$app_ns}"
check "helm upgrade --set watchNamespaces={$app_ns}" \
  h upgrade "$release" "$chart" -n "$ns" --reuse-values --set "watchNamespaces={$app_ns}"
check "no ClusterRole left for the operator" cluster_gone clusterrole "$release"
check "no ClusterRoleBinding left for the operator" cluster_gone clusterrolebinding "$release"
check "Role and RoleBinding in $app_ns" bash -c "'$kubectl' --kubeconfig '$state/kubeconfig' -n '$app_ns' get role,rolebinding '$release' -o name"
start_operator op-ns || exit 1
k -n "$app_ns" delete service where2eat --wait=true >/dev/null
eventually 60 "namespaced: drift repaired (deleted Service comes back)" exists "$app_ns" service where2eat
k -n "$app_ns" patch microapp landing --type merge -p '{"spec":{"rateLimit":{"perIP":{"requestsPerMinute":70}}}}' >/dev/null
eventually 60 "namespaced: a spec change converges (landing limit-rpm 70)" limit_rpm "$app_ns" landing 70
eventually 30 "namespaced: status follows the spec (observedGeneration)" observed_current "$app_ns" landing
check "namespaced: no 403 in the operator's log" no_forbidden_in_log op-ns
denied list secrets -n "$ns"
denied list secrets -n kube-system
denied list secrets --all-namespaces
denied update secrets -n kube-system
denied delete secrets -n "$ns"
denied update secrets/not-owned -n "$ns"
denied list microapps.safedefaults.io -n default
denied create configmaps -n default
forbidden_for_sa "namespaced: list Secrets in its own namespace" -n "$ns" get secrets
forbidden_for_sa "namespaced: list Secrets in kube-system" -n kube-system get secrets
refused_by_policy "namespaced: a labelled Deployment with a privileged container in the app namespace" \
  container-security-context bad_workload privileged
refused_by_policy "namespaced: delete a foreign Secret in the app namespace" children-only \
  ksa -n "$app_ns" delete secret not-owned --dry-run=server
allowed list secrets -n "$app_ns"
stop_operator op-ns

# ==== 7. uninstall ==================================================================================
echo "== helm uninstall"
crd_rv="$(k get crd microapps.safedefaults.io -o jsonpath='{.metadata.resourceVersion}')"
check "helm uninstall" h uninstall "$release" -n "$ns" --wait --timeout 60s
check "uninstall keeps the CRD (Helm never deletes crds/)" exists default crd microapps.safedefaults.io
check "uninstall keeps the MicroApps" bash -c "[[ \$('$kubectl' --kubeconfig '$state/kubeconfig' -n '$app_ns' get microapps -o name | wc -l) -eq 2 ]]"
check "uninstall keeps the apps' children (now unmanaged)" exists "$app_ns" deployment where2eat
check "uninstall removes the ServiceAccount" gone "$ns" serviceaccount "$sa"
check "uninstall removes the app-namespace Role" gone "$app_ns" role "$release"
check "uninstall removes the lease Role" gone "$ns" role "$release-leader-election"
check "documented: uninstall keeps the sealing keyset (sealed values open again after reinstall)" \
  exists "$ns" secret microapp-sealing-keys
token_rejected() { ! ksa auth whoami >/dev/null 2>&1; }
eventually 30 "the minted token stops working with its ServiceAccount" token_rejected
check "uninstall removes the leader-election Lease (part of the release)" gone "$ns" lease "$lease"
check "reinstall over the kept CRD and apps" h install "$release" "$chart" -n "$ns" "${install_values[@]}"
crd_unchanged() { [[ "$(k get crd microapps.safedefaults.io -o jsonpath='{.metadata.resourceVersion}')" == "$crd_rv" ]]; }
check "reinstall leaves the existing CRD untouched" crd_unchanged

echo "== runtime $((SECONDS - t_start))s"
summary "helm-e2e"
