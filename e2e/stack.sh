#!/usr/bin/env bash
# The local platform the demo and the end-to-end tests run on, in one command:
#
#   e2e/stack.sh up [NAME] [-- HELM_ARGS...]   a real one-node cluster (e2e/node/up.sh NAME, with its
#                                               ingress controller and CA ClusterIssuer), the images
#                                               imported, the test OIDC provider at
#                                               https://login.example.com/realms/acme, and the operator
#                                               installed with its Helm chart, as a pod
#   e2e/stack.sh down [NAME]                    all of it gone and the host as it was (e2e/node/down.sh)
#   e2e/stack.sh install [-- HELM_ARGS...]      only the provider and the operator, on the cluster
#                                               KUBECONFIG points at (one prepared like the node is)
#
# NAME defaults to "stack". HELM_ARGS go to `helm upgrade --install` after e2e/stack/values.yaml
# (the tests add e.g. --set operator.resyncSeconds=10). It needs what the build makes: the operator
# and sidecar images (mvn -pl operator,sidecar -am package) and the apps' and provider's images
# (e2e/apps/build-images.sh); it says which is missing. Re-running `up` on a running stack re-imports
# the images and upgrades the release, so it also deploys a rebuilt operator.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=control-plane/versions.env
source "$here/control-plane/versions.env"
die() { echo "stack: $*" >&2; exit 1; }
# The cluster's own kubectl (built with it), whatever else is on PATH.
kubectl() { "${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64/kubectl" "$@"; }
log() { echo "stack: $*" >&2; }

cmd="${1:-}"; shift || true
name=stack
if [[ $# -gt 0 && "$1" != -- ]]; then name="$1"; shift; fi
[[ "${1:-}" == -- ]] && shift
helm_args=("$@")

release=microapp-operator
operator_ns=microapp-system
issuer=https://login.example.com/realms/acme
images=(
  "$repo/operator/target/microapp-operator-image.tar"
  "$repo/sidecar/target/microapp-sidecar-image.tar"
  "$repo/e2e/target/images/where2eat.tar"
  "$repo/e2e/target/images/landing.tar"
  "$repo/e2e/target/images/mock-oauth2-server.tar"
)
state="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}/$name"

# The provider: up, its certificate issued, and its discovery document naming the public issuer
# when fetched the way a browser does (through the ingress controller, TLS checked against the CA).
install_provider() {
  log "test OIDC provider (e2e/apps/idp.yaml) at $issuer"
  kubectl apply -f "$here/apps/idp.yaml" >/dev/null
  kubectl -n identity rollout status deployment/mock-oauth2-server --timeout=120s >/dev/null \
    || die "the provider did not become ready: $(kubectl -n identity get pods -o wide 2>&1 | tail -n +2)"
  kubectl -n identity wait --for=condition=Ready certificate/login-tls --timeout=120s >/dev/null \
    || die "cert-manager issued no certificate for login.example.com: $(kubectl -n identity describe certificate login-tls 2>&1 | tail -5)"
  local i doc=""
  for i in $(seq 1 60); do
    doc="$(curl -fsS --max-time 5 --resolve "login.example.com:443:$NODE_IP" --cacert "$INGRESS_CA" \
      "$issuer/.well-known/openid-configuration" 2>/dev/null)" && break
    sleep 1
  done
  [[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("issuer", ""))' "${doc:-{\}}")" == "$issuer" ]] \
    || die "the provider's discovery through the ingress controller does not name $issuer: ${doc:-no answer}"
}

install_operator() {
  local helm
  helm="$("$here/control-plane/build-helm.sh" | tail -n 1)"
  log "operator: helm upgrade --install $release helm/microapp-operator -n $operator_ns"
  kubectl create namespace "$operator_ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label namespace "$operator_ns" --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
  # Helm installs a chart's CRDs once and never upgrades them; apply them first so a re-run after a
  # model change serves the new schema (what the chart README tells platform teams to do on upgrade).
  kubectl apply --server-side --force-conflicts -f "$repo/crds/" >/dev/null
  kubectl wait --for=condition=Established -f "$repo/crds/" --timeout=60s >/dev/null
  "$helm" upgrade --install "$release" "$repo/helm/microapp-operator" -n "$operator_ns" \
    -f "$here/stack/values.yaml" --set-file "oidc.caBundle=$INGRESS_CA" "${helm_args[@]}" \
    --wait --timeout 180s >/dev/null \
    || die "helm upgrade --install failed; operator pods: $(kubectl -n "$operator_ns" get pods 2>&1 | tail -n +2)"
  # A re-imported image under the same tag is not picked up by running pods: restart them.
  kubectl -n "$operator_ns" rollout restart deployment/"$release" >/dev/null
  kubectl -n "$operator_ns" rollout status deployment/"$release" --timeout=180s >/dev/null \
    || die "the operator did not become ready: $(kubectl -n "$operator_ns" logs deployment/"$release" --tail=20 2>&1)"
}

case "$cmd" in
  up)
    for f in "${images[@]}"; do
      [[ -f "$f" ]] || die "$f is missing: build it first (mvn -B -DskipTests package, then e2e/apps/build-images.sh)"
    done
    t0=$SECONDS
    "$here/node/install-node-deps.sh" >&2
    "$here/node/up.sh" "$name"
    # shellcheck source=/dev/null
    source "$state/env"   # KUBECONFIG, NODE_IP, INGRESS_CA
    export KUBECONFIG
    log "importing ${#images[@]} images into the node's containerd"
    "$here/node/load-images.sh" "${images[@]}" >/dev/null
    install_provider
    install_operator
    log "up in $((SECONDS - t0)) s: KUBECONFIG=$KUBECONFIG, cluster CA $INGRESS_CA, ingress at $NODE_IP:443"
    ;;
  install)
    [[ -n "${KUBECONFIG:-}" ]] || die "install: set KUBECONFIG to the cluster"
    : "${NODE_IP:?install: set NODE_IP to the address the ingress controller answers on}"
    : "${INGRESS_CA:?install: set INGRESS_CA to the PEM of the cluster CA ClusterIssuer microapp-local-ca}"
    install_provider
    install_operator
    ;;
  down)
    "$here/node/down.sh" "$name"
    ;;
  *)
    sed -n '2,17p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
