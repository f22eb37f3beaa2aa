#!/usr/bin/env bash
# Check helpers shared by chart-check.sh and helm-e2e.sh (sourced, not run).
# Each check prints exactly one line, "PASS <name>" or "FAIL <name>: <why>", and a failure is
# remembered so the script can exit non-zero at the end without stopping at the first one.

CHECKS_PASSED=${CHECKS_PASSED:-0}
CHECKS_FAILED=${CHECKS_FAILED:-0}
FAILED_NAMES=()

# grep -q stops reading at the first match; under pipefail the writer then dies of SIGPIPE and the
# check fails at random. This reads all of its input.
quiet_grep() { grep "$@" >/dev/null; }

pass() { echo "PASS $1"; CHECKS_PASSED=$((CHECKS_PASSED + 1)); }
fail() {
  echo "FAIL $1${2:+: $2}"
  CHECKS_FAILED=$((CHECKS_FAILED + 1))
  FAILED_NAMES+=("$1")
}

# check NAME CMD...: PASS if CMD exits 0 (its output is shown only on failure).
check() {
  local name="$1" out; shift
  if out="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$(tail_of "$out")"; fi
}

# check_fails NAME EXPECT CMD...: PASS if CMD fails and its output contains EXPECT (a grep -E
# pattern), so a failure for an unrelated reason does not count.
check_fails() {
  local name="$1" expect="$2" out; shift 2
  if out="$("$@" 2>&1)"; then
    fail "$name" "succeeded but should have failed: $(tail_of "$out")"
  elif grep -Eq -- "$expect" <<<"$out"; then
    pass "$name"
  else
    fail "$name" "failed, but without /$expect/: $(tail_of "$out")"
  fi
}

# eventually SECONDS NAME CMD...: PASS as soon as CMD succeeds, FAIL after SECONDS (returns 0
# either way, like check, so one failure does not stop the run).
eventually() {
  local limit="$1" name="$2" out deadline; shift 2
  deadline=$((SECONDS + limit))
  while true; do
    if out="$("$@" 2>&1)"; then pass "$name"; return 0; fi
    if ((SECONDS >= deadline)); then fail "$name" "not within ${limit}s: $(tail_of "$out")"; return 0; fi
    sleep 1
  done
}

# The last lines of some output, on one line, for a FAIL message.
tail_of() { tail -n 3 <<<"$1" | tr '\n' ' ' | cut -c1-400; }

# summary LABEL: one closing line; returns non-zero if anything failed.
summary() {
  echo "---- $1: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
  if ((CHECKS_FAILED > 0)); then
    printf '     failed: %s\n' "${FAILED_NAMES[@]}"
    return 1
  fi
}

# own_control_plane NAME: a fresh local control plane for this script (e2e/control-plane/up.sh),
# with KUBECONFIG pointing at it, a scratch directory in $tmp and both removed when the script
# exits. Needs $root (the repository).
own_control_plane() {
  : "${root:?own_control_plane needs \$root, the repository}"
  name="$1-$$"
  export CONTROL_PLANE_STATE_DIR="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}"
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the names are fixed for the script's life
  trap "\"$root/e2e/control-plane/down.sh\" \"$name\" >/dev/null 2>&1 || true; rm -rf \"$tmp\"" EXIT
  "$root/e2e/control-plane/up.sh" "$name" >"$tmp/up.log" 2>&1 || { tail "$tmp/up.log"; exit 1; }
  export KUBECONFIG="$CONTROL_PLANE_STATE_DIR/$name/kubeconfig"
}
