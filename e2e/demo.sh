#!/usr/bin/env bash
# The demo: a real one-node cluster on this machine, the operator installed with its Helm chart,
# examples/ applied, the apps running behind their sidecars over HTTPS, and a guided tour.
#
#   e2e/demo.sh          build what is missing, bring up the platform (e2e/stack.sh up demo),
#                        apply examples/, wait for Ready=True, then take the tour
#   e2e/demo.sh tour     take the tour again against the running demo
#   e2e/demo.sh stop     tear everything down; the host is left as it was (checked)
#
# Needs root (the node runs containerd, kubelet and iptables rules). The first run builds
# Kubernetes, containerd's companions, Traefik and cert-manager from the Go module proxy; see the
# README for how long that takes. Everything stays up until `e2e/demo.sh stop`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=control-plane/versions.env
source "$here/control-plane/versions.env"
name="${DEMO_NAME:-demo}"
state="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}/$name"
kubectl="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64/kubectl"
die() { echo "demo: $*" >&2; exit 1; }

build() {
  if [[ ! -f "$repo/operator/target/microapp-operator-image.tar" || ! -f "$repo/sidecar/target/microapp-sidecar-image.tar" \
        || ! -f "$repo/e2e/target/images/mock-oauth2-server.tar" ]]; then
    echo "==> building the operator, the sidecar and their images (mvn -B -DskipTests package)"
    (cd "$repo" && mvn -B -q -DskipTests package)
  fi
  echo "==> the example apps' images (e2e/apps/build-images.sh, skipped when up to date)"
  "$here/apps/build-images.sh" --apps-only --skip-tests 2>&1 | sed 's/^/    /'
}

apply_examples() {
  echo "==> kubectl apply -f examples/"
  "$kubectl" apply -f "$repo/examples/" | sed 's/^/    /'
  echo "==> waiting for the operator to converge them and for their pods to run"
  local app
  for app in where2eat landing; do
    "$kubectl" -n team-food wait "microapp/$app" --for=condition=Ready --timeout=300s >/dev/null || {
      "$kubectl" -n team-food get microapp "$app" \
        -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' >&2
      "$kubectl" -n team-food get pods -o wide >&2
      die "$app did not become Ready within 300 s (conditions and pods above)"
    }
  done
  # Ready means the pods are available; the ingress controller routes to them a moment later.
  local i code
  for i in $(seq 1 60); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$INGRESS_CA" \
      --resolve "where2eat.apps.example.com:443:$NODE_IP" https://where2eat.apps.example.com/healthz || true)"
    [[ "$code" != 503 && "$code" != 404 && "$code" != 000 ]] && break
    sleep 1
  done
  # A pod in another namespace, to show the NetworkPolicy refusing it.
  "$kubectl" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: demo-elsewhere
  labels: {pod-security.kubernetes.io/enforce: restricted}
YAML
  "$kubectl" -n demo-elsewhere apply -f "$here/apps/netprobe.yaml" >/dev/null
  "$kubectl" -n demo-elsewhere wait pod/netprobe --for=condition=Ready --timeout=120s >/dev/null \
    || die "the probe pod in demo-elsewhere did not start: $("$kubectl" -n demo-elsewhere describe pod netprobe | tail -5)"
}

# The tour: each step is printed as a newcomer can paste it, run, and its answer checked, so the
# demo fails loudly instead of showing a tour that no longer holds.
failed=0
step() { # step TITLE COMMAND PATTERN... (extended regexes, each must match a line of the output)
  local title="$1" cmd="$2" out pattern; shift 2
  printf '\n\033[1m# %s\033[0m\n%s\n' "$title" "$cmd"
  out="$(eval "$cmd" 2>&1)" || true
  printf '%s\n' "$out" | sed 's/^/  /'
  for pattern in "$@"; do
    if ! grep -Eq -- "$pattern" <<<"$out"; then
      printf '  \033[31m^ expected a line matching /%s/\033[0m\n' "$pattern"
      failed=1
    fi
  done
}

tour() {
  # shellcheck source=/dev/null
  source "$state/env" 2>/dev/null || die "no demo is running ($state/env missing): run e2e/demo.sh"
  export KUBECONFIG NODE_IP INGRESS_CA
  local jar; jar="$(mktemp -d)/cookies"
  export JAR="$jar" PATH="$(dirname "$kubectl"):$PATH"
  # What the pasted commands use: the cluster's env, and curl reaching the node's ingress controller
  # for the example hosts (nothing is added to /etc/hosts), trusting the cluster's CA.
  c() {
    curl -sS --max-time 10 --cacert "$INGRESS_CA" -H 'Accept: text/html' -b "$JAR" -c "$JAR" \
      --resolve "where2eat.apps.example.com:443:$NODE_IP" --resolve "landing.apps.example.com:443:$NODE_IP" \
      --resolve "login.example.com:443:$NODE_IP" --resolve "where2eat.apps.example.com:80:$NODE_IP" "$@"
  }
  # Signs in at the test provider as ann with the given amr (its login form takes any claims).
  signin() {
    local auth cb
    auth="$(c -o /dev/null -w '%{redirect_url}' "$1")"
    cb="$(c -o /dev/null -w '%{redirect_url}' --data-urlencode username=ann --data-urlencode \
      "claims={\"groups\":[\"food-team\"],\"email\":\"ann@acme.com\",\"email_verified\":true,\"amr\":$2}" "$auth")"
    c -o /dev/null -w 'callback %{http_code}\n' "$cb"
  }
  export -f c signin
  cat <<EOF

======================================================================================
 The tour. To paste the steps yourself, first:

   source $state/env    # KUBECONFIG, NODE_IP, INGRESS_CA
   export PATH=$(dirname "$kubectl"):\$PATH JAR=\$(mktemp)
$(declare -f c signin)
======================================================================================
EOF
  step "The operator's view: every app Ready, with its checklist (landing relaxes two defaults, justified)" \
    'kubectl get microapps -n team-food' \
    '^where2eat +True +private .* 9/10 ' '^landing +True +public .* 7/10 '
  step "A certificate issued by cert-manager (the cluster's CA ClusterIssuer) for each app's host" \
    'kubectl get certificates -n team-food' \
    '^where2eat-tls +True' '^landing-tls +True'
  step "Plain HTTP is sent to HTTPS by the ingress controller" \
    "c -o /dev/null -w '%{http_code} %{redirect_url}\n' http://where2eat.apps.example.com/" \
    '^30[18] https://where2eat'
  step "Anonymous: the sidecar sends you to sign in at the provider (PKCE, state, nonce)" \
    "c -o /dev/null -w '%{http_code} %{redirect_url}\n' https://where2eat.apps.example.com/" \
    '^302 https://login.example.com/realms/acme/authorize\?.*code_challenge_method=S256'
  step "Sign in as ann (group food-team, password only); the app now answers, and knows who you are" \
    "signin https://where2eat.apps.example.com/ '[\"pwd\"]' && c https://where2eat.apps.example.com/ | grep -o '<p id=\"who\">.*</p>' | sed 's/<[^>]*>//g'" \
    '^callback 200$' '^Signed in as .*ann@acme.com.*food-team'
  step "An admin path asks for a second factor: back to the provider, which must re-authenticate" \
    "c -o /dev/null -w '%{http_code} %{redirect_url}\n' https://where2eat.apps.example.com/admin | sed 's/&state=.*&prompt=/\&...\&prompt=/'" \
    '^302 .*prompt=login'
  step "Signed in again with MFA, the admin page opens" \
    "signin https://where2eat.apps.example.com/admin '[\"pwd\",\"mfa\"]' && c https://where2eat.apps.example.com/admin | grep -o 'admin area'" \
    '^callback 200$' '^admin area$'
  step "HSTS and the other secure headers, on every answer" \
    "c -o /dev/null -D - https://where2eat.apps.example.com/ | grep -iE '^(strict-transport|content-security|x-frame|x-content-type|referrer|set-cookie)' | cut -c1-110" \
    'strict-transport-security: max-age=31536000; includeSubDomains'
  step "The public landing page needs no sign-in (a justified override), and still gets HSTS" \
    "c -o /dev/null -w '%{http_code} %header{strict-transport-security}\n' https://landing.apps.example.com/" \
    '^200 max-age=31536000'
  step "From a pod in another namespace, the app container's port is refused by the NetworkPolicy" \
    'kubectl -n demo-elsewhere exec netprobe -- /where2eat probe tcp://$(kubectl -n team-food get pod -l safedefaults.io/app=where2eat -o jsonpath="{.items[0].status.podIP}"):8080 --timeout 3s' \
    '^FAIL tcp [0-9.]+:8080'
  step "... and so is the sidecar's, which answers only the ingress controller's namespace" \
    'kubectl -n demo-elsewhere exec netprobe -- /where2eat probe tcp://$(kubectl -n team-food get pod -l safedefaults.io/app=where2eat -o jsonpath="{.items[0].status.podIP}"):4180 --timeout 3s' \
    '^FAIL tcp [0-9.]+:4180'
  step "For comparison: the same probe reaches a pod that has no NetworkPolicy (the test provider)" \
    'kubectl -n demo-elsewhere exec netprobe -- /where2eat probe tcp://$(kubectl -n identity get pod -l app.kubernetes.io/name=mock-oauth2-server -o jsonpath="{.items[0].status.podIP}"):8080 --timeout 3s' \
    '^OK tcp [0-9.]+:8080'
  step "Retention: run today's purge now; the app deletes rows past the 30-day TTL and status shows the result" \
    'j=purge-$(date +%s); kubectl -n team-food create job $j --from=cronjob/where2eat-purge
kubectl -n team-food wait microapp/where2eat --for=jsonpath="{.status.retention.lastJob}"=$j --timeout=120s >/dev/null
kubectl -n team-food wait microapp/where2eat --for=jsonpath="{.status.retention.lastJobOutcome}"=Succeeded --timeout=120s >/dev/null
kubectl -n team-food get microapp where2eat -o jsonpath="{.status.retention}"; echo' \
    '"lastJobOutcome":"Succeeded"' '"lastDeleted":[0-9]+'
  step "Inside the app's container: not root, no capabilities, seccomp, read-only root filesystem, no API token" \
    "kubectl -n team-food exec deploy/where2eat -c app -- /where2eat cat /proc/self/status | grep -E '^(Uid|CapEff|Seccomp):'
kubectl -n team-food exec deploy/where2eat -c app -- /where2eat cat /proc/self/mounts | awk '\$2==\"/\" {split(\$4, o, \",\"); print \"root filesystem:\", o[1]}'
kubectl -n team-food exec deploy/where2eat -c app -- /where2eat cat /var/run/secrets/kubernetes.io/serviceaccount/token >/dev/null 2>&1 || echo 'service-account token: none mounted'" \
    '^Uid:\s+10001\s' '^CapEff:\s+0+$' '^Seccomp:\s+2$' '^root filesystem: ro$' 'token: none mounted'
  rm -rf "$(dirname "$jar")"
  cat <<EOF

More to try:
  kubectl describe microapp where2eat -n team-food          # conditions, events
  kubectl logs -n microapp-system deploy/microapp-operator  # the JSON audit log
  java -jar operator/target/microapp-operator-all.jar render -f examples/where2eat.yaml --cluster-issuer microapp-local-ca
  Stop and clean up:  e2e/demo.sh stop
EOF
  [[ $failed == 0 ]] || die "a tour step did not show what it should (marked in red above)"
}

case "${1:-}" in
  stop)
    "$here/stack.sh" down "$name"
    "$here/node/check-clean.sh"
    ;;
  tour)
    tour
    ;;
  "")
    t0=$SECONDS
    build
    echo "==> the platform: one-node cluster, ingress controller, cert-manager, test provider, operator (e2e/stack.sh up $name)"
    "$here/stack.sh" up "$name"
    # shellcheck source=/dev/null
    source "$state/env"
    export KUBECONFIG
    apply_examples
    echo "==> ready in $((SECONDS - t0)) s"
    tour
    ;;
  *)
    sed -n '2,12p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
