#!/usr/bin/env bash
# Installs the machine packages the sidecar benchmark (run-benchmark.sh) drives: wrk (the load
# generator), nginx (the plain reverse proxy measured as the floor cost of any proxy) and curl
# (oauth2-proxy's sign-in). From Debian's packages only; a no-op when everything is present, so
# run-benchmark.sh calls it on every run. Not root: prints the apt-get line and fails.
set -euo pipefail

declare -A need=([wrk]=wrk [nginx]=nginx-light [curl]=curl [python3]=python3-minimal)
missing=()
for cmd in "${!need[@]}"; do
  # nginx lives in /usr/sbin, which is not on every user's PATH
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("${need[$cmd]}")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

pkgs="$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-bench-deps: the sidecar benchmark needs: sudo apt-get install -y $pkgs" >&2
  exit 1
fi
echo "install-bench-deps: installing $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# Debian starts nginx on port 80 on install; the benchmark runs its own on a free loopback port.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
echo "install-bench-deps: done" >&2
