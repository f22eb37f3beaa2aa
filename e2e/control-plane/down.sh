#!/usr/bin/env bash
# Stops a control plane started by up.sh and deletes its state directory.
#
#   e2e/control-plane/down.sh [NAME]      # NAME defaults to "default"
#
# Only the pids up.sh recorded in <state>/pids are signalled (TERM, a grace
# period of CONTROL_PLANE_STOP_TIMEOUT seconds, default 20, then KILL), and only
# if their command line still points into this instance's state dir, so other
# instances and unrelated processes are never touched. Safe to run twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"
cp_init "${1:-}"

if [[ ! -e "$CP_STATE" ]]; then
  echo "control plane '$CP_NAME' is not running (no $CP_STATE)"
  exit 0
fi
# An instance with a node (e2e/node/up.sh) has mounts, containers and host changes that only the
# node's down.sh undoes; rm -rf here could reach into mounted pod volumes.
if [[ -d "$CP_STATE/node" ]]; then
  exec "$here/../node/down.sh" "$CP_NAME"
fi
cp_stop
rm -rf "$CP_STATE"
echo "control plane '$CP_NAME' stopped, $CP_STATE removed"
