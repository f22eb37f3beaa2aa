#!/usr/bin/env bash
# Offline checks of the Helm chart (no cluster needed, a few seconds):
#   - the chart's CRDs are byte-identical to the generated ones in crds/
#   - helm lint --strict is clean, with default and with all-options values
#   - renders are valid YAML without duplicate keys, for several value sets
#   - the RBAC never grows beyond what the operator uses (no wildcards, no secret get/update,
#     cluster-scoped only reading policies and namespace labels, no privilege-escalation verbs)
#   - values.schema.json and the template checks reject bad values with a message naming the value
#   - oidc.caBundle is mounted into the operator (ConfigMap, volume, env, checksum) only when set
#   - the admission policy binds exactly the operator's ServiceAccount, refuses on error, names
#     each rule in its message, follows the values it depends on, and can be switched off
#
#   e2e/helm/chart-check.sh          # exit 0 when every check passes
# helm comes from e2e/control-plane/build-helm.sh (built from the Go module proxy).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
chart="$root/helm/microapp-operator"

HELM="${HELM:-$("$root/e2e/control-plane/build-helm.sh" 2>/dev/null | tail -n 1)}"
[[ -x "$HELM" ]] || { echo "chart-check.sh: no helm binary (run e2e/control-plane/build-helm.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "chart-check.sh: python3 is required" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ---- CRDs identical to the generated ones -----------------------------------------------------
crds_identical() {
  local f name rc=0
  for f in "$root"/crds/*.yml "$root"/crds/*.yaml; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f")"
    if [[ ! -f "$chart/crds/$name" ]]; then echo "missing in chart: crds/$name"; rc=1
    elif ! cmp -s "$f" "$chart/crds/$name"; then
      echo "differs: crds/$name (copy it: cp crds/$name helm/microapp-operator/crds/)"; rc=1
    fi
  done
  for f in "$chart"/crds/*; do
    [[ -e "$root/crds/$(basename "$f")" ]] || { echo "only in chart: $(basename "$f")"; rc=1; }
  done
  return $rc
}
check "chart CRDs are identical to crds/ (generated from the Java model)" crds_identical

# ---- lint ---------------------------------------------------------------------------------------
# A test CA certificate (valid until 2124; see operator/src/test/resources/oidc-ca/README.md).
test_ca="$root/operator/src/test/resources/oidc-ca/acme-test-root-ca.pem"
second_ca="$root/operator/src/test/resources/oidc-ca/acme-second-root-ca.pem"
all_options=(--set replicaCount=2 --set podDisruptionBudget.enabled=true --set-file "oidc.caBundle=$test_ca"
  --set networkPolicy.enabled=true --set 'networkPolicy.apiServer.cidrs={10.0.0.1/32}'
  --set networkPolicy.dns=true --set monitoring.serviceMonitor.enabled=true
  --set ingress.clusterIssuer=letsencrypt --set defaults.issuer=https://login.example.com/realms/acme
  --set 'operator.extraEnv[0].name=HTTPS_PROXY' --set 'operator.extraEnv[0].value=http://proxy:3128'
  --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)
lint_clean() {
  local out
  out="$("$HELM" lint --strict "$chart" "$@" 2>&1)" || { echo "$out"; return 1; }
  # INFO "icon is recommended" is the only message allowed.
  if grep -E '^\[(WARNING|ERROR)\]' <<<"$out"; then return 1; fi
}
check "helm lint --strict (default values)" lint_clean
check "helm lint --strict (all options on)" lint_clean "${all_options[@]}"

# ---- renders --------------------------------------------------------------------------------------
# render NAME ARGS...: helm template into $tmp/NAME.yaml.
render() { local n="$1"; shift; "$HELM" template microapp-operator "$chart" -n microapp-system "$@" >"$tmp/$n.yaml"; }

# A YAML loader that refuses duplicate keys (kubectl would silently keep the last one).
cat >"$tmp/yamlcheck.py" <<'PY'
import sys, yaml
class Strict(yaml.SafeLoader):
    pass
def mapping(loader, node, deep=False):
    keys = set()
    for k, _ in node.value:
        key = loader.construct_object(k, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key %r" % key, k.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep)
Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
docs = [d for d in yaml.load_all(open(sys.argv[1]), Loader=Strict) if d]
kinds = [d["kind"] for d in docs]
mode = sys.argv[2] if len(sys.argv) > 2 else "kinds"
if mode == "kinds":
    print(" ".join(sorted(kinds)))
elif mode == "rbac":
    # Guard rails: what the operator must never be granted, whatever someone adds later.
    bad = []
    cluster_scoped = {"nodes", "customresourcedefinitions", "clusterroles",
                      "clusterrolebindings", "persistentvolumes", "mutatingwebhookconfigurations",
                      "validatingwebhookconfigurations", "certificatesigningrequests"}
    for d in docs:
        if d["kind"] not in ("Role", "ClusterRole"):
            continue
        for r in d.get("rules", []):
            res, verbs = set(r.get("resources", [])), set(r.get("verbs", []))
            where = "%s %s: %s %s" % (d["kind"], d["metadata"]["name"], sorted(res), sorted(verbs))
            if "*" in res or "*" in verbs or "*" in r.get("apiGroups", []):
                bad.append("wildcard in " + where)
            named = bool(r.get("resourceNames"))
            # Reading a Secret by name only for named Secrets (the sealing keyset): never any Secret.
            if res & {"secrets"} and verbs & {"get", "patch", "deletecollection"} and not named:
                bad.append("secret read by name without resourceNames in " + where)
            # Namespaces are read (their labels select MicroAppPolicies), never written.
            if res & {"namespaces"} and not verbs <= {"get", "list", "watch"}:
                bad.append("namespace access beyond reading in " + where)
            # MicroAppPolicies: the platform team's; the operator reads them and writes their status only.
            if res & {"microapppolicies"} and not verbs <= {"list", "watch"}:
                bad.append("policy access beyond reading in " + where)
            if res & cluster_scoped:
                bad.append("cluster-scoped resource in " + where)
            if verbs & {"escalate", "bind", "impersonate", "deletecollection"}:
                bad.append("escalation verb in " + where)
            if res & {"pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token",
                      "roles", "rolebindings"}:
                bad.append("workload/credential access in " + where)
            # Pods: read-only (purge pods' termination messages), never created, changed or deleted.
            if res & {"pods"} and not verbs <= {"list", "watch"}:
                bad.append("pod access beyond list/watch in " + where)
            # delete only for children that must go before their app does (precondition unmet).
            # (and host claims: Leases, released when an app gives up its host; gateway mode's
            # HTTPRoutes, which go like the Ingress, and their edge BackendTrafficPolicies)
            if "delete" in verbs and not res <= {"ingresses", "httproutes", "backendtrafficpolicies", "secrets",
                                                 "configmaps", "cronjobs", "leases"}:
                bad.append("delete beyond the conditional children in " + where)
            if res & {"jobs"} and verbs - {"list", "watch"}:
                bad.append("Jobs beyond list/watch in " + where)
    if bad:
        print("\n".join(bad)); sys.exit(1)
    print("ok")
PY
kinds_of() { python3 "$tmp/yamlcheck.py" "$tmp/$1.yaml" kinds; }

render_ok() { render "$@" && kinds_of "$1" >/dev/null; }
check "renders with default values, no duplicate keys" render_ok default
check "renders with all options on, no duplicate keys" render_ok all "${all_options[@]}" \
  --api-versions monitoring.coreos.com/v1/ServiceMonitor
check "renders when watching a namespace list" render_ok ns --set 'watchNamespaces={team-food,team-maps}'
check "renders without leader election" render_ok nole --set leaderElection.enabled=false

expect_kinds() { # NAME EXPECTED-SORTED-KINDS
  local got; got="$(kinds_of "$1")"
  [[ "$got" == "$2" ]] || { echo "got: $got"; return 1; }
}
check "default objects: SA, app ClusterRole, sealing/public-key/lease Roles, the Lease, Deployment, Service" \
  expect_kinds default "ClusterRole ClusterRole ClusterRoleBinding ClusterRoleBinding Deployment Lease Role Role Role RoleBinding RoleBinding RoleBinding Service ServiceAccount ValidatingAdmissionPolicy ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding ValidatingAdmissionPolicyBinding"
check "ServiceMonitor rendered when the API exists and it is enabled" \
  expect_kinds all "ClusterRole ClusterRole ClusterRoleBinding ClusterRoleBinding ConfigMap Deployment Lease NetworkPolicy PodDisruptionBudget Role Role Role RoleBinding RoleBinding RoleBinding Service ServiceAccount ServiceMonitor ValidatingAdmissionPolicy ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding ValidatingAdmissionPolicyBinding"
check_no_servicemonitor() {
  render sm-missing --set monitoring.serviceMonitor.enabled=true
  ! grep -q 'kind: ServiceMonitor' "$tmp/sm-missing.yaml"
}
check "no ServiceMonitor when the cluster lacks monitoring.coreos.com/v1" check_no_servicemonitor

# ---- the sidecars' metrics (PodMonitor and the operator's --metrics-namespaces) ---------------------
pm_api=(--api-versions monitoring.coreos.com/v1/PodMonitor)
sidecar_metrics() { # NAME WANT-PODMONITORS WANT-ENV ARGS...
  local n="$1" want="$2" env="$3" got; shift 3
  render "$n" "$@"
  got="$(grep -c '^kind: PodMonitor$' "$tmp/$n.yaml" || true)"
  [[ "$got" == "$want" ]] || { echo "got $got PodMonitor(s), want $want"; return 1; }
  grep -A1 'name: MICROAPP_METRICS_NAMESPACES' "$tmp/$n.yaml" | grep -q "value: \"$env\"" \
    || { echo "MICROAPP_METRICS_NAMESPACES is not \"$env\""; return 1; }
}
check "no PodMonitor and no metrics namespaces by default, even with the API" sidecar_metrics pm-off 0 "" "${pm_api[@]}"
check "a PodMonitor on auth-admin and the operator told the namespaces" sidecar_metrics pm-on 1 "monitoring,obs" \
  "${pm_api[@]}" --set 'monitoring.sidecarMetrics.namespaces={monitoring,obs}'
check "the namespaces reach the operator without the PodMonitor API (another scraper)" sidecar_metrics pm-noapi 0 \
  "monitoring" --set 'monitoring.sidecarMetrics.namespaces={monitoring}'
pm_port() { grep -q 'port: auth-admin' "$tmp/pm-on.yaml" && grep -q 'any: true' "$tmp/pm-on.yaml"; }
check "the PodMonitor scrapes the sidecar's admin port in every namespace" pm_port

# ---- default alerts (PrometheusRule) --------------------------------------------------------------
# Rendered when the cluster serves the PrometheusRule API (or with force), tested with promtool
# (built from the Go module proxy by e2e/control-plane/build-promtool.sh) on recorded series:
# e2e/helm/alerts-test.yaml shows each alert firing and not firing.
PROMTOOL="${PROMTOOL:-$("$root/e2e/control-plane/build-promtool.sh" 2>/dev/null | tail -n 1)}"
prom_api=(--api-versions monitoring.coreos.com/v1/PrometheusRule)
count_rules() { # NAME EXPECTED ARGS...: how many PrometheusRules render
  local n="$1" want="$2" got; shift 2
  render "$n" "$@"
  got="$(grep -c '^kind: PrometheusRule$' "$tmp/$n.yaml" || true)"
  [[ "$got" == "$want" ]] || { echo "got $got PrometheusRule(s), want $want"; return 1; }
}
check "no PrometheusRule when the cluster lacks monitoring.coreos.com/v1" count_rules pr-none 0
check "a PrometheusRule when the cluster serves monitoring.coreos.com/v1 PrometheusRule" count_rules pr-api 1 "${prom_api[@]}"
check "a PrometheusRule with monitoring.alerts.force, API or not" count_rules pr-force 1 --set monitoring.alerts.force=true
check "no PrometheusRule with monitoring.alerts.enabled=false" count_rules pr-off 0 "${prom_api[@]}" \
  --set monitoring.alerts.enabled=false --set monitoring.alerts.force=true
# rules_of NAME ARGS...: the rendered PrometheusRule's spec as a Prometheus rule file, next to the test
rules_of() {
  local n="$1"; shift
  mkdir -p "$tmp/$n"
  "$HELM" template microapp-operator "$chart" -n microapp-system "${prom_api[@]}" -s templates/prometheusrule.yaml "$@" \
    | python3 -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(sys.stdin)["spec"], sys.stdout, sort_keys=False, width=1000)' \
    >"$tmp/$n/rules.yaml"
  cp "$here/alerts-test.yaml" "$tmp/$n/"
}
alerts_tested() {
  [[ -x "$PROMTOOL" ]] || { echo "no promtool (run e2e/control-plane/build-promtool.sh)"; return 1; }
  rules_of alerts "$@" && "$PROMTOOL" check rules "$tmp/alerts/rules.yaml" && (cd "$tmp/alerts" && "$PROMTOOL" test rules alerts-test.yaml)
}
check "notifications.defaultWebhookKey reaches the operator as MICROAPP_NOTIFY_WEBHOOK_KEY (and only when set)" \
  bash -c "'$HELM' template x '$chart' --set notifications.defaultWebhookKey=security-team | grep -A1 'name: MICROAPP_NOTIFY_WEBHOOK_KEY' | grep -q 'value: \"security-team\"' && ! grep -q MICROAPP_NOTIFY_WEBHOOK_KEY '$tmp/default.yaml'"
check "promtool: the default alerts are valid rules and pass alerts-test.yaml (firing and not firing)" alerts_tested
# The tests can fail: with thresholds no recorded spike reaches, the firing cases must fail.
check_fails "promtool: a rate-limit threshold above the recorded spike fails the test" "MicroAppRateLimitSpike" \
  alerts_tested --set monitoring.alerts.rateLimitedPerSecond=5
check_fails "promtool: a sign-in threshold above the recorded spike fails the test" "MicroAppSignInFailureSpike" \
  alerts_tested --set monitoring.alerts.signInFailuresPerSecond=2
check_fails "promtool: an admin-activity floor above the recorded spike fails the test" "MicroAppAdminActivityAboveNormal" \
  alerts_tested --set monitoring.alerts.adminActionsPerHour=100
check "namespace list: Role+RoleBinding per namespace; cluster-scoped only the read-only policies ClusterRole" \
  expect_kinds ns "ClusterRole ClusterRoleBinding Deployment Lease Role Role Role Role Role RoleBinding RoleBinding RoleBinding RoleBinding RoleBinding Service ServiceAccount ValidatingAdmissionPolicy ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding ValidatingAdmissionPolicyBinding"
check "without leader election: no Lease and no Lease Role, Recreate strategy" \
  bash -c "! grep -q 'leader-election' '$tmp/nole.yaml' && ! grep -q 'kind: Lease' '$tmp/nole.yaml' && grep -q 'type: Recreate' '$tmp/nole.yaml'"
check "the chart's Lease has no spec (the operator's alone: an upgrade must not reset a running election)" \
  python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Lease"]
sys.exit(0 if len(docs) == 1 and "spec" not in docs[0] else 1)' "$tmp/default.yaml"
check "RBAC guard rails hold (default render)" python3 "$tmp/yamlcheck.py" "$tmp/default.yaml" rbac
check "RBAC guard rails hold (namespace-list render)" python3 "$tmp/yamlcheck.py" "$tmp/ns.yaml" rbac

# ---- the admission policy that bounds the operator's identity (templates/admission-policy.yaml) ----
cat >"$tmp/policy.py" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
want_user, want_lease, want_keys_ns = sys.argv[2], sys.argv[3], sys.argv[4]
pols = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"]
binds = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
assert len(pols) == 2 and len(binds) == 2, "two policies and bindings (bounds, approvals), got %d and %d" % (len(pols), len(binds))
# <release>-approvals binds every identity, on MicroApps only (README, "Approvals")
apol = [d for d in pols if d["metadata"]["name"].endswith("-approvals")][0]
abind = [d for d in binds if d["metadata"]["name"].endswith("-approvals")][0]
assert abind["spec"] == {"policyName": apol["metadata"]["name"], "validationActions": ["Deny"]}, abind["spec"]
assert apol["spec"]["failurePolicy"] == "Fail" and "matchConditions" not in apol["spec"], apol["spec"]
assert apol["spec"]["matchConstraints"]["resourceRules"] == [{"apiGroups": ["safedefaults.io"], "apiVersions": ["*"],
    "operations": ["CREATE", "UPDATE"], "resources": ["microapps"]}], apol["spec"]["matchConstraints"]
anames = [v["messageExpression"].strip().strip("'").split(":")[0] for v in apol["spec"]["validations"]]
assert anames == ["approvals-by-approvers", "approvals-in-own-name", "approvals-of-current-generation"], anames
pol = [d for d in pols if d["metadata"]["name"].endswith("-bounds")][0]
bind = [d for d in binds if d["metadata"]["name"].endswith("-bounds")][0]
assert pol["apiVersion"] == "admissionregistration.k8s.io/v1", pol["apiVersion"]
assert bind["spec"]["policyName"] == pol["metadata"]["name"], bind["spec"]
assert bind["spec"]["validationActions"] == ["Deny"], bind["spec"]["validationActions"]
spec = pol["spec"]
assert spec["failurePolicy"] == "Fail", "an expression error must refuse, not admit"
conds = spec["matchConditions"]
assert len(conds) == 1 and conds[0]["expression"].strip() == "request.userInfo.username == '%s'" % want_user, conds
rules = spec["matchConstraints"]["resourceRules"]
assert any(r["resources"] == ["*/*"] and set(r["operations"]) == {"CREATE", "UPDATE", "DELETE"} for r in rules), rules
variables = {v["name"]: v["expression"] for v in spec["variables"]}
lease = variables["leaderLease"].split()
assert (want_lease == "-" and lease == ["false"]) or ("'%s'" % want_lease) in variables["leaderLease"], variables["leaderLease"]
assert "'%s'" % want_keys_ns in variables["sealingKeys"], variables["sealingKeys"]
names = []
for v in spec["validations"]:
    msg = v["message"]
    assert "\n" not in msg, "a message with a line break: %r" % msg
    rule = msg.split(":")[0]
    assert rule and rule.replace("-", "").isalpha() and rule.islower(), "message does not start with its rule name: %r" % msg
    names.append(rule)
assert len(names) == len(set(names)), "rule names repeat: %s" % names
need = {"system-namespaces", "children-only", "no-token-secrets", "pod-identity", "pod-security-context",
        "container-security-context", "pod-volumes", "pod-host", "release-namespace"}
assert need <= set(names), "missing rules: %s" % sorted(need - set(names))
print(" ".join(names))
PY
operator_user=system:serviceaccount:microapp-system:microapp-operator
check "admission policy (default): binds only the operator's ServiceAccount, Deny, failurePolicy Fail, every rule named" \
  python3 "$tmp/policy.py" "$tmp/default.yaml" "$operator_user" microapp-operator microapp-system
render_ok policy-custom --set serviceAccount.name=ops-bot --set leaderElection.leaseName=ops-lease \
  --set sealing.keysNamespace=microapp-keys
check "admission policy follows serviceAccount.name, leaderElection.leaseName and sealing.keysNamespace" \
  python3 "$tmp/policy.py" "$tmp/policy-custom.yaml" system:serviceaccount:microapp-system:ops-bot ops-lease microapp-keys
check "admission policy without leader election exempts no Lease by name" \
  python3 "$tmp/policy.py" "$tmp/nole.yaml" "$operator_user" - microapp-system
render_ok policy-off --set admissionPolicy.enabled=false
check "admissionPolicy.enabled=false renders no policy or binding" \
  bash -c "! grep -q 'kind: ValidatingAdmissionPolicy' '$tmp/policy-off.yaml'"
check "helm lint --strict (admission policy off)" lint_clean --set admissionPolicy.enabled=false

env_value() { # FILE NAME -> value of the Deployment's env var
  python3 - "$1" "$2" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Deployment":
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]:
            if e["name"] == sys.argv[2]:
                print(e.get("value", "")); sys.exit(0)
sys.exit(1)
PY
}
env_is() { local got; got="$(env_value "$tmp/$1.yaml" "$2")"; [[ "$got" == "$3" ]] || { echo "$2=$got, want $3"; return 1; }; }
printf 'bounds:\n  allowedOverrides: []\n' >"$tmp/no-overrides.yaml"
check "renders with changed limits, no overrides and a pinned sidecar" render_ok limits \
  --set defaults.limits.perIpPerMinute=50 -f "$tmp/no-overrides.yaml" \
  --set sidecar.image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
check "env: MICROAPP_DEFAULT_LIMITS follows defaults.limits" env_is limits MICROAPP_DEFAULT_LIMITS "50,10,60"
check "env: empty allowedOverrides becomes 'none'" env_is limits MICROAPP_ALLOWED_OVERRIDES "none"
check "env: a sidecar digest pins the sidecar image" env_is limits MICROAPP_SIDECAR_IMAGE \
  "ghcr.io/safedefaults/microapp-sidecar@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
check "env: POD_NAMESPACE and POD_NAME come from the downward API" \
  bash -c "grep -q 'fieldPath: metadata.namespace' '$tmp/default.yaml' && grep -q 'fieldPath: metadata.name' '$tmp/default.yaml'"
check "env: the keys namespace defaults to the release namespace" env_is default MICROAPP_KEYS_NAMESPACE microapp-system
check "env: lost sealing keys are never replaced unless sealing.allowNewKeys" env_is default MICROAPP_ALLOW_NEW_SEALING_KEYS false
check "env: one operator for the cluster uses the Lease leaderElection.leaseName" env_is default MICROAPP_LEASE_NAME microapp-operator

# ---- shards: two releases splitting the cluster by namespace label ---------------------------------
check "renders shard a" render_ok sharda --set shard.name=a --set 'shard.selector=safedefaults.io/shard!=b'
check "renders shard b (a second release in the same namespace)" render_ok shardb --set shard.name=b \
  --set 'shard.selector=safedefaults.io/shard=b' --set fullnameOverride=microapp-operator-b
shard_env() {
  env_is sharda MICROAPP_SHARD_NAME a && env_is sharda MICROAPP_SHARD_SELECTOR 'safedefaults.io/shard!=b' \
    && env_is sharda MICROAPP_LEASE_NAME microapp-operator-a && env_is shardb MICROAPP_LEASE_NAME microapp-operator-b
}
check "env: a shard's name, selector and Lease" shard_env
two_shards_share_nothing_by_name() { # the two releases' objects never collide (Helm would refuse the second)
  python3 - "$tmp/sharda.yaml" "$tmp/shardb.yaml" <<'PY'
import sys, yaml
def names(f):
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
            for d in yaml.safe_load_all(open(f)) if d}
common = names(sys.argv[1]) & names(sys.argv[2])
if common:
    print("both releases render", sorted(common)); sys.exit(1)
PY
}
check "two shard releases in one namespace render no object of the same name (Leases included)" two_shards_share_nothing_by_name
check "RBAC guard rails hold (shard render)" python3 "$tmp/yamlcheck.py" "$tmp/sharda.yaml" rbac
check "no shard: no MICROAPP_SHARD_* in the environment" bash -c "! grep -q MICROAPP_SHARD '$tmp/default.yaml'"

# ---- the OIDC provider's CA bundle (oidc.caBundle) ------------------------------------------------
# oidca_check FILE MODE [BUNDLE]: MODE "set" -- a ConfigMap <release>-oidc-ca holding exactly the
# bundle, mounted read-only into the operator container only, MICROAPP_OIDC_CA_FILE naming it and a
# checksum annotation; MODE "unset" -- none of these. Prints the checksum.
cat >"$tmp/oidcca.py" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
mode, bundle = sys.argv[2], (open(sys.argv[3]).read() if len(sys.argv) > 3 else None)
cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-oidc-ca")]
dep = next(d for d in docs if d["kind"] == "Deployment")
pod = dep["spec"]["template"]["spec"]
vols = [v for v in pod.get("volumes", []) if "oidc-ca" in v["name"]]
env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
ann = (dep["spec"]["template"]["metadata"].get("annotations") or {}).get("checksum/oidc-ca")
if mode == "unset":
    bad = [what for what, present in [("ConfigMap", cms), ("volume", vols), ("MICROAPP_OIDC_CA_FILE", "MICROAPP_OIDC_CA_FILE" in env),
                                      ("checksum/oidc-ca", ann)] if present]
    if bad: print("without oidc.caBundle the render has: " + ", ".join(bad)); sys.exit(1)
    sys.exit(0)
assert len(cms) == 1, "one ConfigMap *-oidc-ca, got %d" % len(cms)
cm = cms[0]
assert cm["metadata"]["namespace"] == "microapp-system", cm["metadata"]
assert cm["data"]["ca.pem"].strip() == bundle.strip(), "ca.pem differs from the bundle"
assert list(cm["data"]) == ["ca.pem"], cm["data"].keys()
assert len(vols) == 1 and vols[0]["configMap"]["name"] == cm["metadata"]["name"], vols
path = env.get("MICROAPP_OIDC_CA_FILE")
for c in pod["containers"]:
    mounts = [m for m in c.get("volumeMounts", []) if m["name"] == vols[0]["name"]]
    assert len(mounts) == 1 and mounts[0].get("readOnly") is True, (c["name"], mounts)
    assert path == mounts[0]["mountPath"] + "/ca.pem", (path, mounts[0]["mountPath"])
assert ann, "no checksum/oidc-ca annotation: a new bundle would not restart the operator"
print(ann)
PY
oidcca_check() { python3 "$tmp/oidcca.py" "$@"; }
check "renders with oidc.caBundle, no duplicate keys" render_ok oidcca --set-file "oidc.caBundle=$test_ca"
check "oidc.caBundle: a ConfigMap with the bundle, mounted read-only, MICROAPP_OIDC_CA_FILE, checksum" \
  oidcca_check "$tmp/oidcca.yaml" set "$test_ca"
check "oidc.caBundle set with all options: the same mount" oidcca_check "$tmp/all.yaml" set "$test_ca"
check "no oidc.caBundle: no ConfigMap, volume, mount, env or checksum (default render)" \
  oidcca_check "$tmp/default.yaml" unset
check "no oidc.caBundle: nothing mounted when watching a namespace list" oidcca_check "$tmp/ns.yaml" unset
checksum_follows_bundle() {
  render oidcca2 --set-file "oidc.caBundle=$second_ca" || return 1
  local a b; a="$(oidcca_check "$tmp/oidcca.yaml" set "$test_ca")" && b="$(oidcca_check "$tmp/oidcca2.yaml" set "$second_ca")" \
    || return 1
  [[ "$a" != "$b" ]] || { echo "the same checksum for two bundles: $a"; return 1; }
}
check "a changed oidc.caBundle changes the pod's checksum, so the operator restarts and reads it" checksum_follows_bundle
{ cat "$test_ca"; printf -- '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n'; } >"$tmp/with-key.pem"

# ---- bad values are rejected, with a message that names the value -------------------------------
rejects() { # NAME PATTERN --set ARGS...
  local name="$1" pattern="$2"; shift 2
  check_fails "rejects $name" "$pattern" "$HELM" template x "$chart" "$@"
}
rejects "a session TTL in words"           "/defaults/sessionTTL.*does not match"  --set 'defaults.sessionTTL=8 hours'
rejects "a session TTL in days"            "/bounds/maxSessionTTL.*does not match" --set bounds.maxSessionTTL=1d
rejects "a zero session TTL"               "defaults.sessionTTL is 0h"             --set defaults.sessionTTL=0h
rejects "a metrics namespace that is not a namespace name" "/monitoring/sidecarMetrics/namespaces/0.*does not match" \
  --set 'monitoring.sidecarMetrics.namespaces={Not_A_Namespace}'
rejects "a max session TTL over 24h"       "bounds.maxSessionTTL 36h is longer than 24h" --set bounds.maxSessionTTL=36h
rejects "a default TTL above the maximum"  "defaults.sessionTTL 13h is longer than bounds.maxSessionTTL 12h" --set defaults.sessionTTL=13h
rejects "a zero rate limit"                "/defaults/limits/perIpPerMinute.*minimum" --set defaults.limits.perIpPerMinute=0
rejects "a rate limit that is not a number" "/defaults/limits/perUserPerMinute.*want integer" --set defaults.limits.perUserPerMinute=lots
rejects "limits as the CLI's string form"  "/defaults/limits.*want object"          --set 'defaults.limits=100\,10\,60'
rejects "a default limit above the maximum" "defaults.limits.perIpPerMinute \(5000\) is above bounds.maxLimits.perIpPerMinute \(1000\)" --set defaults.limits.perIpPerMinute=5000
rejects "an unknown override"              "/bounds/allowedOverrides/1.*must be one of" --set 'bounds.allowedOverrides={visibility,tls}'
rejects "a misspelt key"                   "additional properties 'limit' not allowed" --set defaults.limit=5
rejects "an unknown ingress flavor"        "/ingress/flavor.*must be one of"        --set ingress.flavor=haproxy
rejects "a plain-http issuer"              "/defaults/issuer.*does not match"       --set defaults.issuer=http://login.example.com
rejects "root as the app uid"              "/defaults/runAsUser.*minimum"           --set defaults.runAsUser=0
rejects "privilege escalation"             "/securityContext/allowPrivilegeEscalation" --set securityContext.allowPrivilegeEscalation=true
rejects "running the operator as root"     "/podSecurityContext/runAsUser.*minimum" --set podSecurityContext.runAsUser=0
rejects "two replicas without leader election" "leaderElection.enabled is false"   --set replicaCount=2 --set leaderElection.enabled=false
rejects "overriding MICROAPP_* via extraEnv" "operator.extraEnv sets MICROAPP_DEFAULT_LIMITS" --set 'operator.extraEnv[0].name=MICROAPP_DEFAULT_LIMITS'
rejects "an invalid namespace name"        "/watchNamespaces/0.*does not match"     --set 'watchNamespaces={Team_Food}'
rejects "a resync below 5 seconds"         "/operator/resyncSeconds.*minimum"       --set operator.resyncSeconds=1
rejects "a CA bundle that is not PEM"      "/oidc/caBundle.*does not match"         --set oidc.caBundle=acme-root-ca
rejects "a private key in the CA bundle"   "oidc.caBundle holds a private key"      --set-file "oidc.caBundle=$tmp/with-key.pem"
rejects "a misspelt oidc key"              "additional properties 'caBundel' not allowed" --set oidc.caBundel=x
rejects "the admission policy on Kubernetes 1.29" "admissionPolicy.enabled needs Kubernetes 1.30 or newer" --kube-version 1.29.8
rejects "the operator in kube-system under its policy" "the namespace kube-system is used by the operator" -n kube-system
rejects "sealing keys in kube-system under the policy" "the namespace kube-system is used by the operator" --set sealing.keysNamespace=kube-system
rejects "watching kube-system under the policy" "the namespace kube-system is used by the operator" --set 'watchNamespaces={team-food,kube-system}'
rejects "a webhook key that is not a Secret key" "/notifications/defaultWebhookKey.*does not match" --set notifications.defaultWebhookKey=a/b
rejects "a zero alert threshold"          "/monitoring/alerts/rateLimitedPerSecond.*exclusiveMinimum|/monitoring/alerts/rateLimitedPerSecond.*must be" --set monitoring.alerts.rateLimitedPerSecond=0
rejects "a misspelt alerts key"            "additional properties 'enable' not allowed" --set monitoring.alerts.enable=false
rejects "a shard name without a selector"  "shard.name and shard.selector go together" --set shard.name=a
rejects "a shard without leader election"  "shard.name needs leaderElection.enabled=true" --set shard.name=a --set shard.selector=x=y --set leaderElection.enabled=false
rejects "a shard with a namespace list"    "shard.selector and watchNamespaces exclude each other" --set shard.name=a --set shard.selector=x=y --set 'watchNamespaces={team-food}'
rejects "a shard name that is not a DNS label" "/shard/name.*does not match"        --set shard.name=Shard_A --set shard.selector=x=y
rejects "a misspelt admissionPolicy key"   "additional properties 'enable' not allowed" --set admissionPolicy.enable=false
rejects "gateway mode without a Gateway"   "exposure.gateway.name is required when exposure.mode is gateway" --set exposure.mode=gateway
rejects "an unknown exposure mode"          "/exposure/mode.*must be one of"         --set exposure.mode=gateway-api
rejects "an unknown edge limit adapter"     "/exposure/gatewayEdgeLimits.*must be one of" --set exposure.gatewayEdgeLimits=istio
check "exposure.gatewayEdgeLimits=envoy-gateway reaches the operator" bash -c "'$HELM' template x '$chart' --set exposure.gatewayEdgeLimits=envoy-gateway | grep -A1 'MICROAPP_GATEWAY_EDGE_LIMITS' | grep -q 'envoy-gateway'"
rejects "an allowed Gateway without its namespace" "/exposure/allowedGateways/0.*does not match" --set 'exposure.allowedGateways={public}'

# ---- gateway mode: the flags, the RBAC for routes, and the admission rule naming the allowed Gateways ----
gateway_mode() {
  render gw --set exposure.mode=gateway --set exposure.gateway.name=public --set exposure.gateway.namespace=gateway-system \
    --set 'exposure.allowedGateways={gateway-system/internal}' --set 'exposure.gateway.dataPlaneNamespaces={envoy-gateway-system}'
  python3 - "$tmp/gw.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
env = {e["name"]: e.get("value") for d in docs if d["kind"] == "Deployment"
       for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
assert env["MICROAPP_EXPOSURE"] == "gateway", env.get("MICROAPP_EXPOSURE")
assert env["MICROAPP_GATEWAY_NAME"] == "public" and env["MICROAPP_GATEWAY_NAMESPACE"] == "gateway-system", env
assert env["MICROAPP_GATEWAY_DATA_PLANE_NAMESPACES"] == "envoy-gateway-system", env
rules = [r for d in docs if d["kind"] == "ClusterRole" for r in d["rules"]]
routes = [r for r in rules if "httproutes" in r["resources"]]
assert routes and set(routes[0]["verbs"]) == {"get", "list", "watch", "create", "patch", "delete"}, routes
gws = [r for r in rules if "gateways" in r["resources"]]
assert gws and set(gws[0]["verbs"]) == {"list", "watch"}, "Gateways are read, never written: %s" % gws
pol = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy" and d["metadata"]["name"].endswith("-bounds")][0]
shape = [v for v in pol["spec"]["validations"] if v["message"].startswith("httproute-shape:")]
assert len(shape) == 1, "one httproute-shape rule"
assert "in ['gateway-system/public', 'gateway-system/internal']" in shape[0]["expression"], shape[0]["expression"]
assert env["MICROAPP_GATEWAY_EDGE_LIMITS"] == "none", "no edge adapter unless declared: %s" % env
btp = [r for r in rules if "backendtrafficpolicies" in r["resources"]]
assert btp and btp[0]["apiGroups"] == ["gateway.envoyproxy.io"] and set(btp[0]["verbs"]) == set(routes[0]["verbs"]), btp
edge = [v for v in pol["spec"]["validations"] if v["message"].startswith("edgepolicy-shape:")]
assert len(edge) == 1 and "'-https'" in edge[0]["expression"], "one edgepolicy-shape rule"
PY
}
check "gateway mode: flags set, httproutes written and Gateways only read, httproute-shape names the allowed Gateways" gateway_mode
no_gateway_allowed() {
  grep -q "in \[\])" "$tmp/default.yaml" && grep -q "chart allows (none: set exposure.gateway or exposure.allowedGateways)" "$tmp/default.yaml"
}
check "ingress mode by default: the admission policy allows routes to no Gateway at all" no_gateway_allowed

# ---- the KMS that wraps the sealing keyset (kms.*): off by default, each value needs kms.uri ---
kms_vault=(--set kms.uri=vault-transit://vault.example.com:8200/transit/keys/microapp --set kms.vaultToken.secretName=vault-token)
check "no KMS env, volume or egress rule by default" bash -c "! grep -q 'MICROAPP_KMS_\|kms-ca\|kms-vault-token\|kms-aws' <('$HELM' template x '$chart' --set networkPolicy.enabled=true)"
check "kms.uri with a Vault token renders the env, the token mount and an egress rule" bash -c "out=\$('$HELM' template x '$chart' ${kms_vault[*]} --set networkPolicy.enabled=true --set-file kms.caBundle=$test_ca) \
  && grep -q 'MICROAPP_KMS_VAULT_TOKEN_FILE' <<<\"\$out\" && grep -q 'secretName: vault-token' <<<\"\$out\" \
  && grep -q 'MICROAPP_KMS_CA_FILE' <<<\"\$out\" && grep -q 'checksum/kms-ca' <<<\"\$out\" && grep -q 'The KMS that wraps' <<<\"\$out\""
rejects "a KMS of an unknown kind"         "/kms/uri.*does not match"               --set kms.uri=gcp-kms://projects/p/keys/k
rejects "a Vault key without a token"      "kms.vaultToken.secretName is empty"     --set kms.uri=vault-transit://vault:8200/transit/keys/k
rejects "a Vault token for an AWS key"     "AWS credentials go in kms.awsCredentials" --set kms.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/k --set kms.vaultToken.secretName=t
rejects "KMS settings without kms.uri"     "need kms.uri"                           --set kms.endpoint=https://kms.example.com
rejects "a KMS endpoint with a path"       "/kms/endpoint.*does not match"          --set kms.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/k --set kms.endpoint=https://x/v1
rejects "a private key in the KMS CA bundle" "kms.caBundle holds a private key"     "${kms_vault[@]}" --set-file "kms.caBundle=$tmp/with-key.pem"
# ---- session keysets under a second Transit key (kms.sessionKeys.*): needs a Vault kms.uri ---
check "kms.sessionKeys.uri renders the session key and the sidecars' Vault login settings" bash -c "out=\$('$HELM' template x '$chart' ${kms_vault[*]} --set kms.sessionKeys.uri=vault-transit://vault.example.com:8200/transit/keys/microapp-sessions --set kms.sessionKeys.vaultRole=apps) \
  && grep -A1 'MICROAPP_KMS_SESSION_KEY_URI' <<<\"\$out\" | grep -q 'keys/microapp-sessions' && grep -A1 'MICROAPP_KMS_SIDECAR_VAULT_ROLE' <<<\"\$out\" | grep -q '\"apps\"' \
  && ! grep -q 'MICROAPP_KMS_SIDECAR_AWS' <<<\"\$out\""
check "no session key settings by default" bash -c "! grep -q 'MICROAPP_KMS_SESSION\|MICROAPP_KMS_SIDECAR' <('$HELM' template x '$chart' ${kms_vault[*]})"
rejects "session keys without a Vault kms.uri" "kms.uri must name one too"         --set kms.sessionKeys.uri=vault-transit://vault:8200/transit/keys/s
rejects "session keys under the sealing key"   "must name another Transit key"      "${kms_vault[@]}" --set kms.sessionKeys.uri=vault-transit://vault.example.com:8200/transit/keys/microapp
rejects "an AWS session key beside a Vault kms.uri" "kms.uri must name one too"    "${kms_vault[@]}" --set kms.sessionKeys.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/k
kms_aws=(--set kms.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/sealing)
rejects "an AWS session key without a role"    "set kms.sessionKeys.awsRoleArn"     "${kms_aws[@]}" --set kms.sessionKeys.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/sessions
rejects "a session key of an unknown kind"     "/kms/sessionKeys/uri.*does not match" "${kms_aws[@]}" --set kms.sessionKeys.uri=gcp-kms://projects/p/keys/k
check "an AWS session key renders the sidecars' role, STS endpoint and no Vault settings" bash -c "out=\$('$HELM' template x '$chart' ${kms_aws[*]} --set kms.sessionKeys.uri=aws-kms://arn:aws:kms:eu-west-1:123456789012:key/sessions --set kms.sessionKeys.awsRoleArn=arn:aws:iam::123456789012:role/microapp-sidecar --set kms.sessionKeys.stsEndpoint=https://sts.eu-west-1.amazonaws.com) \
  && grep -A1 'MICROAPP_KMS_SIDECAR_AWS_ROLE_ARN' <<<\"\$out\" | grep -q 'role/microapp-sidecar' && grep -q 'MICROAPP_KMS_SIDECAR_STS_ENDPOINT' <<<\"\$out\" \
  && ! grep -q 'MICROAPP_KMS_SIDECAR_VAULT' <<<\"\$out\""
rejects "a Vault role with a slash"            "/kms/sessionKeys/vaultRole.*does not match" "${kms_vault[@]}" --set kms.sessionKeys.uri=vault-transit://vault.example.com:8200/transit/keys/s --set kms.sessionKeys.vaultRole=a/b

summary "chart checks"
