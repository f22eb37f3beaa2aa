#!/usr/bin/env bash
# Checks that every action the workflows pin by commit is the commit its comment names:
#   uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
# must be what `git ls-remote` says tag v4.2.2 of github.com/actions/checkout points at (for an
# annotated tag, the commit it peels to). A pin that names the wrong tag is a supply-chain hole a
# reviewer cannot see; run this before every release tag and after every bump (it needs GitHub).
#
#   release/check-pins.sh [workflow files...]     default: .github/workflows/*.yml
#   release/check-pins.sh --self-test             offline: proves the check against local repos
#
# PINS_GIT_BASE overrides https://github.com (the self-test points it at local bare repositories).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
die() { echo "check-pins: ERROR: $*" >&2; exit 2; }
command -v git >/dev/null || die "git is not installed (apt-get install git)"

check() {
  local base="${PINS_GIT_BASE:-https://github.com}" bad=0 seen=0 file line repo sha tag actual
  for file in "$@"; do
    [ -f "$file" ] || die "no such workflow file: $file"
    while IFS= read -r line; do
      if [[ "$line" =~ uses:[[:space:]]*([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@[:space:]]*)?@([0-9a-f]{40})[[:space:]]*#[[:space:]]*(v[0-9][0-9A-Za-z.+-]*) ]]; then
        repo="${BASH_REMATCH[1]}" sha="${BASH_REMATCH[3]}" tag="${BASH_REMATCH[4]}"
        seen=$((seen + 1))
        # the peeled entry (^{}) of an annotated tag is the commit; a lightweight tag has only one line
        actual="$(git ls-remote "$base/$repo" "refs/tags/$tag" "refs/tags/$tag^{}" \
          | awk '{print $1}' | tail -n 1)" || die "cannot reach $base/$repo (network?)"
        if [ -z "$actual" ]; then
          echo "check-pins: $file: $repo has no tag $tag" >&2; bad=$((bad + 1))
        elif [ "$actual" != "$sha" ]; then
          echo "check-pins: $file: $repo@$sha says $tag, but $tag is $actual" >&2; bad=$((bad + 1))
        fi
      elif [[ "$line" =~ uses:[[:space:]]*[A-Za-z0-9_.-]+/[^[:space:]]+@ ]]; then
        echo "check-pins: $file: not pinned as '<owner>/<repo>@<40-hex commit> # <tag>': ${line#"${line%%[![:space:]]*}"}" >&2
        bad=$((bad + 1))
      fi
    done < "$file"
  done
  [ "$seen" -gt 0 ] || die "no pinned actions found in: $*"
  if [ "$bad" -gt 0 ]; then
    echo "check-pins: $bad of the pins above are wrong; fix the commit or the tag comment" >&2
    return 1
  fi
  echo "check-pins: $seen pins match their tags" >&2
}

self_test() {
  local tmp; tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
  mkrepo() { # owner/name, then "tag:annotated|light" pairs; prints nothing
    local dir="$tmp/src/$1"; mkdir -p "$dir"; git -C "$dir" init -q
    git -C "$dir" commit -q --allow-empty -m one; shift
    for t in "$@"; do
      git -C "$dir" commit -q --allow-empty -m "$t"
      case "${t#*:}" in annotated) git -C "$dir" tag -a -m "${t%%:*}" "${t%%:*}" ;; *) git -C "$dir" tag "${t%%:*}" ;; esac
    done
    mkdir -p "$(dirname "$tmp/base/${dir#"$tmp/src/"}")"; git clone -q --bare "$dir" "$tmp/base/${dir#"$tmp/src/"}"
  }
  mkrepo acme/setup v1.0.0:annotated v1.1.0:light
  mkrepo acme/attest v2.0.0:annotated
  local c10 c11 c20; c10="$(git -C "$tmp/src/acme/setup" rev-parse 'v1.0.0^{commit}')"
  c11="$(git -C "$tmp/src/acme/setup" rev-parse 'v1.1.0^{commit}')"; c20="$(git -C "$tmp/src/acme/attest" rev-parse 'v2.0.0^{commit}')"
  export PINS_GIT_BASE="$tmp/base"
  printf 'steps:\n  - uses: acme/setup@%s # v1.0.0\n  - uses: acme/setup@%s # v1.1.0\n  - uses: acme/attest/sub@%s # v2.0.0\n' \
    "$c10" "$c11" "$c20" > "$tmp/good.yml"
  check "$tmp/good.yml" 2>/dev/null || die "self-test: correct pins (annotated, lightweight, sub-path) were refused"
  local variant out
  for variant in wrong-tag missing-tag unpinned; do
    case "$variant" in
      wrong-tag) printf '  - uses: acme/setup@%s # v1.1.0\n' "$c10" ;;
      missing-tag) printf '  - uses: acme/setup@%s # v9.9.9\n' "$c10" ;;
      unpinned) printf '  - uses: acme/setup@v1.0.0\n  - uses: acme/setup@%s # v1.0.0\n' "$c10" ;;
    esac > "$tmp/bad.yml"
    if out="$(check "$tmp/bad.yml" 2>&1)"; then die "self-test: $variant was accepted"; fi
    case "$variant" in
      wrong-tag) [[ "$out" == *"says v1.1.0, but v1.1.0 is $c11"* ]] ;;
      missing-tag) [[ "$out" == *"has no tag v9.9.9"* ]] ;;
      unpinned) [[ "$out" == *"not pinned"* ]] ;;
    esac || die "self-test: $variant refused with the wrong message: $out"
  done
  echo "check-pins: self-test passed (3 good pins accepted, 3 kinds of bad pin refused)" >&2
}

if [ "${1:-}" = "--self-test" ]; then
  self_test
elif [ "$#" -gt 0 ]; then
  check "$@"
else
  check "$root"/.github/workflows/*.yml
fi
