#!/usr/bin/env bash
# Prints the release notes of a version: its section of CHANGELOG.md (without the heading), so the
# GitHub release says exactly what the changelog says. Fails when the section is missing or empty.
#
#   release/notes.sh X.Y.Z
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -eq 1 ]] || { echo "usage: release/notes.sh X.Y.Z" >&2; exit 2; }
notes="$(awk -v v="$1" '
  /^## \[/ { inside = (index($0, "## [" v "]") == 1); next }
  /^\[[^]]+\]: / { next }  # link definitions at the end
  inside { print }
' "$root/CHANGELOG.md")"
[[ -n "$(tr -d '[:space:]' <<<"$notes")" ]] || { echo "notes: CHANGELOG.md has no entries under '## [$1]'" >&2; exit 1; }
# drop leading and trailing blank lines
sed -e '/./,$!d' <<<"$notes" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
