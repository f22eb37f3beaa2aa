#!/usr/bin/env bash
# The chart's approval rules (templates/admission-policy.yaml, policy <release>-approvals) on a real
# kube-apiserver (about 30 s), impersonating people in and out of the approver groups:
# a member of an approver group approves the current generation in their own name; nobody else may
# set or change the approval annotations, nobody may approve in another's name or for another
# generation, anyone may still edit the spec (the approval goes stale) or withdraw an approval.
#
#   e2e/helm/approval-policy-check.sh      # exit 0 when every check passes
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
HELM="${HELM:-$("$root/e2e/control-plane/build-helm.sh" 2>/dev/null | tail -n 1)}"
own_control_plane approval-policy
kubectl apply --server-side -f "$root/crds/microapps.safedefaults.io-v1.yml" >/dev/null
kubectl create namespace microapp-system >/dev/null
kubectl create namespace orgdata >/dev/null
"$HELM" template mo "$root/helm/microapp-operator" -n microapp-system \
  --set 'admissionPolicy.approverGroups={data-stewards,security}' \
  | python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d["kind"] in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")]
print(yaml.safe_dump_all([d for d in docs if d["metadata"]["name"].endswith("-approvals")]))' >"$tmp/policy.yaml"
kubectl apply -f "$tmp/policy.yaml" >/dev/null
# People who may edit apps: data stewards (approvers) and app editors (not approvers).
kubectl create clusterrole microapp-editor --verb=get,list,create,update,patch,delete \
  --resource=microapps.safedefaults.io >/dev/null
kubectl create clusterrolebinding microapp-editors --clusterrole=microapp-editor \
  --group=data-stewards --group=app-editors >/dev/null

type_checked() {
  local s
  s="$(kubectl get validatingadmissionpolicy mo-microapp-operator-approvals -o jsonpath='{.status.typeChecking}')"
  [[ -z "$s" || "$s" == "{}" ]] || { echo "$s"; return 1; }
}
eventually 10 "the API server type-checked the policy without warnings" type_checked

as_dana=(--as dana@example.com --as-group data-stewards)
as_eve=(--as eve@example.com --as-group app-editors)
manifest() { sed 's/namespace: team-food/namespace: orgdata/' "$root/examples/where2eat.yaml"; }
manifest | kubectl "${as_eve[@]}" apply -f - >/dev/null
app=(microapp where2eat -n orgdata)
gen() { kubectl get "${app[@]}" -o jsonpath='{.metadata.generation}'; }
# shellcheck disable=SC2086 # $who is the impersonation flags, split on purpose
annotate() { local who="$1"; shift; kubectl $who annotate "${app[@]}" --overwrite "$@" 2>&1; }

in_force() {
  ! out="$(kubectl "${as_eve[@]}" annotate "${app[@]}" --dry-run=server --overwrite \
    safedefaults.io/approved-generation=1 safedefaults.io/approved-by=eve@example.com 2>&1)" \
    && grep -q "approvals-by-approvers" <<<"$out"
}
eventually 30 "the admission policy is in force" in_force

check_fails "refuses an approval by someone outside the approver groups" "approvals-by-approvers" \
  annotate "${as_eve[*]}" "safedefaults.io/approved-generation=$(gen)" safedefaults.io/approved-by=eve@example.com
check_fails "refuses an approver approving in another's name" "approvals-in-own-name" \
  annotate "${as_dana[*]}" "safedefaults.io/approved-generation=$(gen)" safedefaults.io/approved-by=someone@example.com
check_fails "refuses an approval of another generation" "approvals-of-current-generation" \
  annotate "${as_dana[*]}" "safedefaults.io/approved-generation=$(( $(gen) + 1 ))" safedefaults.io/approved-by=dana@example.com
check "admits an approver approving the current generation in their own name" \
  annotate "${as_dana[*]}" "safedefaults.io/approved-generation=$(gen)" safedefaults.io/approved-by=dana@example.com
check_fails "refuses a non-approver moving an approval to a new generation" "approvals-by-approvers" \
  annotate "${as_eve[*]}" "safedefaults.io/approved-generation=$(( $(gen) + 1 ))"
before="$(gen)"
check "admits a spec change by an editor (the approval goes stale)" \
  kubectl "${as_eve[@]}" patch "${app[@]}" --type merge -p '{"spec":{"image":"ghcr.io/acme/where2eat:1.4.3"}}'
stale() { [[ "$(gen)" -gt "$before" ]] && [[ "$(kubectl get "${app[@]}" \
  -o jsonpath='{.metadata.annotations.safedefaults\.io/approved-generation}')" == "$before" ]]; }
check "the spec change moved the generation past the approval" stale
check "admits an editor withdrawing the approval" \
  annotate "${as_eve[*]}" safedefaults.io/approved-generation- safedefaults.io/approved-by-
create_approved_copy() {
  manifest | sed 's/^  name: where2eat$/  name: copy\n  annotations: {safedefaults.io\/approved-generation: "1", safedefaults.io\/approved-by: eve@example.com}/' \
    | kubectl "${as_eve[@]}" create -f - 2>&1
}
check_fails "refuses a non-approver creating an app already approved" "approvals-by-approvers" \
  create_approved_copy


summary "approval admission checks"
