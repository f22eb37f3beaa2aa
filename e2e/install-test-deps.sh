#!/usr/bin/env bash
# Installs the machine packages the tests run for real: redis-server (shared rate limits),
# chromium + chromedriver (the browser sign-in tests) and certutil (libnss3-tools: the browser on
# the node trusts the cluster's CA through its certificate store), PostgreSQL (the purge runner's
# target), skopeo + umoci (ContainerImageIT reads and unpacks the image archives with them).
# From Debian's packages only; a no-op when everything is present. The Maven build calls this
# before the tests that need them, so `mvn -B verify` works on a fresh machine.
set -euo pipefail

declare -A need=(
  [redis-server]=redis-server
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [certutil]=libnss3-tools
  [skopeo]=skopeo
  [umoci]=umoci
)
# PostgreSQL's server binaries live outside PATH on Debian.
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  need[postgres-server]=postgresql
fi

missing=()
for cmd in "${!need[@]}"; do
  if [[ "$cmd" == postgres-server ]] || ! command -v "$cmd" >/dev/null 2>&1; then
    missing+=("${need[$cmd]}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

pkgs="$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-test-deps: the tests need: sudo apt-get install -y $pkgs" >&2
  exit 1
fi
echo "install-test-deps: installing $pkgs"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# Debian starts services on install; the tests start their own servers on free ports.
for svc in redis-server postgresql; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-test-deps: done"
