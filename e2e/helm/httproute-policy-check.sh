#!/usr/bin/env bash
# The chart's httproute-shape admission rule (templates/admission-policy.yaml) on a real
# kube-apiserver with the Gateway API CRDs the operator is tested against (about 30 s):
# the routes the operator writes (GatewayRoutes, as in the gateway golden render) are admitted
# for the operator's ServiceAccount; routes to another Gateway, another Service or port, across
# namespaces, with a foreign header, a redirect elsewhere or to http, or a rewrite are refused,
# each naming the rule. Also checks the API server type-checked the policy without warnings.
# Likewise the edgepolicy-shape rule with Envoy Gateway's BackendTrafficPolicy CRD
# (operator/src/test/resources/envoy-gateway): the operator's policy (EnvoyGatewayPolicy) is admitted,
# one aimed at the Gateway, another route, several targets or a label selector is refused.
#
#   e2e/helm/httproute-policy-check.sh      # exit 0 when every check passes
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
HELM="${HELM:-$("$root/e2e/control-plane/build-helm.sh" 2>/dev/null | tail -n 1)}"
own_control_plane httproute-policy
for f in "$root"/operator/src/test/resources/gateway-api/*.yaml "$root"/operator/src/test/resources/envoy-gateway/*.yaml; do
  kubectl apply --server-side -f "$f" >/dev/null
done
kubectl create namespace microapp-system >/dev/null
kubectl create namespace team-a >/dev/null
"$HELM" template mo "$root/helm/microapp-operator" -n microapp-system --set exposure.mode=gateway \
  --set exposure.gateway.name=public --set exposure.gateway.namespace=gateway-system \
  | python3 -c 'import sys, yaml
keep = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount")
print(yaml.safe_dump_all([d for d in yaml.safe_load_all(sys.stdin) if d and d["kind"] in keep]))' >"$tmp/policy.yaml"
kubectl apply -f "$tmp/policy.yaml" >/dev/null
sa=system:serviceaccount:microapp-system:mo-microapp-operator

type_checked() {
  local s
  s="$(kubectl get validatingadmissionpolicy mo-microapp-operator-bounds -o jsonpath='{.status.typeChecking}')"
  [[ -z "$s" || "$s" == "{}" ]] || { echo "$s"; return 1; }
}
eventually 10 "the API server type-checked the policy without warnings" type_checked

route() { # NAME SECTION PARENT BACKENDS FILTERS
  cat <<Y
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: $1, namespace: team-a, labels: {app.kubernetes.io/managed-by: microapp-operator, safedefaults.io/app: shop}}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: $3, namespace: gateway-system, sectionName: $2}]
  hostnames: [shop.apps.example.com]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: $4, filters: $5}]
Y
}
apply_as_operator() { route "$@" | kubectl --as "$sa" apply --server-side --field-manager microapp-operator -f - 2>&1; }
hsts='[{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: Strict-Transport-Security, value: "max-age=31536000; includeSubDomains"}]}}]'
redirect='[{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]'
own='[{group: "", kind: Service, name: shop, port: 80, weight: 1}]'

# The API server starts enforcing a new policy a moment after accepting it: wait for a refusal by
# dry run (admission runs, nothing is stored) before counting admissions and refusals.
in_force() {
  ! out="$(route probe https other "$own" "$hsts" | kubectl --as "$sa" apply --server-side --dry-run=server \
    --field-manager microapp-operator -f - 2>&1)" && grep -q "httproute-shape" <<<"$out"
}
eventually 30 "the admission policy is in force" in_force

check "admits the HTTPS route the operator writes" apply_as_operator shop-https https public "$own" "$hsts"
check "admits the redirect route the operator writes" apply_as_operator shop-http http public '[]' "$redirect"
refused() { # NAME ARGS...
  local name="$1"; shift
  check_fails "refuses $name" "httproute-shape" apply_as_operator "$@"
}
refused "another Gateway"                   r1 https other "$own" "$hsts"
refused "another app's Service"             r2 https public '[{group: "", kind: Service, name: bank, port: 80}]' "$hsts"
refused "the app port around the sidecar"   r3 https public '[{group: "", kind: Service, name: shop, port: 8080}]' "$hsts"
refused "a Service in another namespace"    r4 https public '[{group: "", kind: Service, name: shop, namespace: team-b, port: 80}]' "$hsts"
refused "a request header"                  r5 https public "$own" '[{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-User, value: admin}]}}]'
refused "a response header other than HSTS" r6 https public "$own" '[{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: Content-Security-Policy, value: x}]}}]'
refused "a redirect to another host"        r7 http public '[]' '[{type: RequestRedirect, requestRedirect: {scheme: https, hostname: evil.example.org, statusCode: 301}}]'
refused "a redirect to plain http"          r8 http public '[]' '[{type: RequestRedirect, requestRedirect: {scheme: http, statusCode: 301}}]'
refused "a URL rewrite"                     r9 https public "$own" '[{type: URLRewrite, urlRewrite: {hostname: x.example.org}}]'

btp() { # NAME TARGETREFS [EXTRA-SPEC]
  cat <<Y
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: $1, namespace: team-a, labels: {app.kubernetes.io/managed-by: microapp-operator, safedefaults.io/app: shop}}
spec:
  targetRefs: $2
  rateLimit: {type: Local, local: {rules: [{clientSelectors: [{sourceCIDR: {type: Distinct, value: 0.0.0.0/0}}], limit: {requests: 100, unit: Minute}}]}}
  ${3:-}
Y
}
btp_as_operator() { btp "$@" | kubectl --as "$sa" apply --server-side --field-manager microapp-operator -f - 2>&1; }
own_route='[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop-https}]'
check "admits the BackendTrafficPolicy the operator writes" btp_as_operator shop-edge "$own_route"
refused_btp() { # NAME ARGS...
  local name="$1"; shift
  check_fails "refuses a BackendTrafficPolicy on $name" "edgepolicy-shape" btp_as_operator "$@"
}
refused_btp "the shared Gateway"      b1 '[{group: gateway.networking.k8s.io, kind: Gateway, name: public}]'
refused_btp "another app's route"     b2 '[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: bank-https}]'
refused_btp "the redirect route"      b3 '[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop-http}]'
refused_btp "two routes"              b4 "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop-https}, {group: gateway.networking.k8s.io, kind: HTTPRoute, name: bank-https}]"
refused_btp "one rule of the route"   b5 '[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: shop-https, sectionName: rule-1}]'
refused_btp "routes by label"         b6 "$own_route" 'targetSelectors: [{group: gateway.networking.k8s.io, kind: HTTPRoute, matchLabels: {team: a}}]'

summary "httproute-shape and edgepolicy-shape checks"
