#!/usr/bin/env bash
# The demo: a real local control plane, the operator as its packaged jar, the examples applied.
#
#   e2e/demo.sh          # build what is missing, start everything, apply examples/, show the result
#   e2e/demo.sh stop     # stop the operator and the control plane, remove their state
#
# Leaves the cluster and the operator running so you can explore with kubectl.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cp="$repo/e2e/control-plane"
# shellcheck source=control-plane/versions.env
source "$cp/versions.env"
name="${DEMO_NAME:-demo}"
state="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}/$name"
kubectl="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64/kubectl"
jar="$repo/operator/target/microapp-operator-all.jar"
pidfile="$state/operator.pid"

stop_operator() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  # Signal only our operator: the pid must still run our jar.
  if [[ -n "$pid" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "microapp-operator-all.jar"; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "operator (pid $pid) stopped"
  fi
  rm -f "$pidfile"
}

if [[ "${1:-}" == "stop" ]]; then
  stop_operator
  "$cp/down.sh" "$name"
  exit 0
fi

echo "==> control plane '$name' (first run builds Kubernetes v$KUBE_VERSION from Go modules)"
"$cp/up.sh" "$name"
export KUBECONFIG="$state/kubeconfig"

if [[ ! -f "$jar" ]]; then
  echo "==> building the operator jar"
  (cd "$repo" && mvn -B -q -pl operator -am -DskipTests package)
fi

echo "==> installing the MicroApp CRD and the operator's namespace (it keeps the sealing keys there)"
"$kubectl" create namespace microapp-system --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
"$kubectl" apply --server-side -f "$repo/crds/" >/dev/null
"$kubectl" wait --for=condition=Established crd/microapps.safedefaults.io --timeout=60s >/dev/null

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "==> operator already running (pid $(cat "$pidfile"))"
  port="$(cat "$state/operator.port")"
else
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  echo "==> starting the operator (health and metrics on 127.0.0.1:$port)"
  nohup java -jar "$jar" run --no-leader-election \
    --http-address 127.0.0.1 --http-port "$port" \
    --cluster-issuer letsencrypt-demo \
    --default-issuer https://login.example.com/realms/acme \
    --ingress-class nginx --ingress-namespaces ingress-nginx \
    --keys-namespace microapp-system \
    >"$state/operator.log" 2>&1 &
  echo $! >"$pidfile"
  echo "$port" >"$state/operator.port"
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "operator exited; log:"; tail -20 "$state/operator.log"; exit 1; }
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "operator not ready; log:"; tail -20 "$state/operator.log"; exit 1; }
fi

echo "==> kubectl apply -f examples/"
"$kubectl" apply -f "$repo/examples/"
for app in where2eat landing; do
  for _ in $(seq 1 60); do
    [[ -n "$("$kubectl" get microapp "$app" -n team-food -o jsonpath='{.status.checklist.summary}' 2>/dev/null)" ]] && break
    sleep 0.5
  done
done

echo
"$kubectl" get microapps -n team-food -o wide
echo
"$kubectl" get serviceaccounts,configmaps,secrets,deployments,services,networkpolicies,ingresses \
  -n team-food -l app.kubernetes.io/managed-by=microapp-operator
echo
echo "==> where2eat conditions"
"$kubectl" get microapp where2eat -n team-food \
  -o jsonpath='{range .status.conditions[*]}{.type}{"\t"}{.status}{"\t"}{.reason}{"\t"}{.message}{"\n"}{end}'
cat <<MSG

No kubelet runs on this local control plane, so the app's pods stay Pending and
Ready says PodsNotReady; every checklist condition above is what the operator observed.

  export KUBECONFIG=$KUBECONFIG
  $kubectl get microapps -A
  java -jar $jar render -f examples/where2eat.yaml --cluster-issuer letsencrypt-demo
  printf '%s' "my-api-key" | java -jar $jar seal -n team-food --app where2eat --name MAPS_API_KEY
  operator log:    $state/operator.log
  operator health: http://127.0.0.1:$port/readyz  metrics: http://127.0.0.1:$port/metrics
  stop everything: e2e/demo.sh stop
MSG
