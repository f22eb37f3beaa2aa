#!/usr/bin/env bash
# Copies CRDs from a Go module, at the version pinned in e2e/control-plane/versions.env, into one
# of this directory's folders, each with a header naming where it came from. The tests against a
# real kube-apiserver read only the copies (they run offline); each folder's regenerate.sh says
# which module, version variable and files. Needs go and the Go module proxy, or a module cache
# that holds the version (go mod download answers from the cache first).
#
#   copy-crds.sh FOLDER VERSION_VARIABLE MODULE SUBDIR FILE...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
(($# >= 5)) || { echo "usage: copy-crds.sh FOLDER VERSION_VARIABLE MODULE SUBDIR FILE..." >&2; exit 2; }
folder="$1" var="$2" module="$3" subdir="$4"
shift 4
# shellcheck source=/dev/null
source "$repo/e2e/control-plane/versions.env"
v="${!var:-}"
[[ -n "$v" ]] || { echo "copy-crds: $var is not set in e2e/control-plane/versions.env" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "$module@v$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$src/$subdir" ]] || { echo "copy-crds: no $subdir in $module@v$v" >&2; exit 1; }
for crd in "$@"; do
  [[ -f "$src/$subdir/$crd" ]] || { echo "copy-crds: no $subdir/$crd in $module@v$v" >&2; exit 1; }
  {
    echo "# $module@v$v $subdir/$crd, unchanged below this header."
    echo "# Regenerate with operator/src/test/resources/$folder/regenerate.sh (version: e2e/control-plane/versions.env)."
    cat "$src/$subdir/$crd"
  } > "$here/$folder/$crd"
  echo "copy-crds: $folder/$crd from $module v$v"
done
