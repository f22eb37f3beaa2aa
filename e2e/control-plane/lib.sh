#!/usr/bin/env bash
# Helpers shared by up.sh and down.sh (sourced, not run). Keeping the state-dir
# and pid logic in one place means down.sh always stops exactly what up.sh started.

# cp_init NAME: sets CP_NAME, CP_STATE (the instance's state dir) and CP_BIN.
cp_init() {
  CP_NAME="${1:-default}"
  # The name becomes a directory and an etcd member name: keep it boring.
  if [[ ! "$CP_NAME" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
    echo "control-plane: invalid name '$CP_NAME' (use letters, digits, '.', '_', '-')" >&2
    return 1
  fi
  local root="${CONTROL_PLANE_STATE_DIR:-$HOME/.microapp-controlplane}"
  mkdir -p "$root"
  # Absolute path: it is matched against /proc/<pid>/cmdline below.
  CP_STATE="$(cd "$root" && pwd)/$CP_NAME"
  CP_BIN="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/k8s/${KUBE_VERSION}-linux-amd64"
}

# cp_pid_ours PID: true if PID is alive and is one of *this instance's*
# processes. Every process up.sh starts carries a path inside $CP_STATE on its
# command line, so a recycled pid (after a reboot, say) is never mistaken for
# ours. Zombies have an empty cmdline and count as gone.
cp_pid_ours() {
  local pid="$1" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cmd="$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmd" == *"$CP_STATE/"* ]]
}

# cp_running: true if a pids file exists and every recorded process is alive.
cp_running() {
  local proc pid n=0
  [[ -s "$CP_STATE/pids" ]] || return 1
  while read -r proc pid; do
    [[ -n "${pid:-}" ]] || continue
    cp_pid_ours "$pid" || return 1
    n=$((n + 1))
  done <"$CP_STATE/pids"
  ((n > 0))
}

# cp_stop: stop the recorded processes one at a time, newest first
# (controller-manager, apiserver, etcd): the apiserver shuts down cleanly only
# while etcd is still there. Each gets TERM, up to CONTROL_PLANE_STOP_TIMEOUT
# seconds (default 20) to exit, then KILL. Only pids from $CP_STATE/pids that
# still belong to this instance are touched.
cp_stop() {
  local proc pid procs=() pids=() i
  [[ -f "$CP_STATE/pids" ]] || return 0
  while read -r proc pid; do
    [[ -n "${pid:-}" ]] || continue
    procs=("$proc" "${procs[@]}") pids=("$pid" "${pids[@]}")
  done <"$CP_STATE/pids"
  for i in "${!pids[@]}"; do
    cp_stop_one "${procs[$i]}" "${pids[$i]}"
  done
  : >"$CP_STATE/pids"
}

cp_stop_one() {
  local proc="$1" pid="$2" deadline
  cp_pid_ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + ${CONTROL_PLANE_STOP_TIMEOUT:-20}))
  while cp_pid_ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if cp_pid_ours "$pid"; then
    echo "control-plane: $proc (pid $pid) did not exit on TERM, sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    # KILL cannot be ignored; give the kernel a moment to reap it.
    for _ in $(seq 50); do cp_pid_ours "$pid" || break; sleep 0.1; done
  fi
}

# cp_pid_of PROC: the pid recorded for PROC in the pids file (empty if none).
cp_pid_of() {
  awk -v p="$1" '$1 == p {print $2}' "$CP_STATE/pids" 2>/dev/null
}

# cp_start PROC ARGS...: run $CP_BIN/PROC in its own session (so closing the terminal or Ctrl-C in
# the calling shell does not take it down), appending to logs/PROC.log, and record its pid. The
# argument list is kept in cmd/PROC (NUL-separated), so cp_restart can start the very same command
# line again after a fault. setsid does not fork here (a background job is never a process group
# leader), so $! is the daemon's own pid. A PROC already in the pids file keeps its line (and so
# its place in cp_stop's order); only the pid changes.
cp_start() {
  local proc="$1" pid; shift
  mkdir -p "$CP_STATE/cmd" "$CP_STATE/logs"
  printf '%s\0' "$@" >"$CP_STATE/cmd/$proc"
  setsid "$CP_BIN/$proc" "$@" </dev/null >>"$CP_STATE/logs/$proc.log" 2>&1 &
  pid=$!
  if [[ -n "$(cp_pid_of "$proc")" ]]; then
    awk -v p="$proc" -v n="$pid" '$1 == p {$2 = n} {print}' "$CP_STATE/pids" >"$CP_STATE/pids.new"
    mv "$CP_STATE/pids.new" "$CP_STATE/pids"
  else
    echo "$proc $pid" >>"$CP_STATE/pids"
  fi
}

# cp_kill PROC: SIGKILL the recorded PROC, as a crash would end it (no clean shutdown), and wait
# until it is gone. Only a pid that still belongs to this instance is touched.
cp_kill() {
  local proc="$1" pid
  pid="$(cp_pid_of "$proc")"
  cp_pid_ours "$pid" || return 0
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 100); do cp_pid_ours "$pid" || return 0; sleep 0.05; done
  echo "control-plane: $proc (pid $pid) still there after KILL" >&2
  return 1
}

# cp_restart PROC: start PROC again with the command line cp_start recorded for it.
cp_restart() {
  local proc="$1" args=()
  [[ -f "$CP_STATE/cmd/$proc" ]] || { echo "control-plane: no recorded command line for $proc" >&2; return 1; }
  mapfile -d '' -t args <"$CP_STATE/cmd/$proc"
  cp_start "$proc" "${args[@]}"
}
