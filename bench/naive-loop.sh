#!/usr/bin/env bash
# The loop a host team writes by hand (the benchmark's part (b)): for each case, sequentially,
# `docker run --rm` a fresh container of the host image, copy the case's files in, pip install,
# boot the host, `curl` its API and compare the answers with the expected ones (jq), remove the
# container. No shared hosts, no parallelism, no retries.
#
# Usage: naive-loop.sh CASE_DIR...
# Each CASE_DIR (written by bench/naive-part.ts) holds:
#   case.env  NAME, CELL, IMAGE, PLATFORM (docker's), QEMU_CPU (may be empty), PORT, PIDFILE, HOST_CMD, BOOT_TIMEOUT (s)
#   files/    the tree copied to / (wheels, archives, the host's configuration file)
#   steps     one step per line, tab-separated:
#               pip     ARGS (space-separated)
#               boot
#               restart
#               serve   DIR PORT                              (an HTTP file server inside the container)
#               call    METHOD PATH BODY_FILE|- STATUS_RE JQ|- EXPECT_RE|-
#               wait    PATH JQ EXPECT_RE TIMEOUT_S
#   body-N.json request bodies
# Environment: NAIVE_LABELS, newline-separated key=value labels for every container.
# Output (stdout), tab-separated:
#   case NAME phase image|container|install|boot|assertions|teardown MS   (a phase may repeat; sum them)
#   case NAME wall - MS                                                    (the whole case)
#   case NAME result pass|fail|error DETAIL
set -uo pipefail

now() { date +%s%3N; }

LABEL_ARGS=()
while IFS= read -r l; do [ -n "$l" ] && LABEL_ARGS+=(--label "$l"); done <<< "${NAIVE_LABELS:-}"

CID=""
HOST_JOB=""
on_signal() {
  [ -n "$CID" ] && docker rm -f "$CID" >/dev/null 2>&1
  exit 130
}
trap on_signal INT TERM

# Reports go to fd 4, the script's stdout, whatever a timed command's own output is redirected to.
exec 4>&1
emit() { printf 'case\t%s\t%s\t%s\t%s\n' "$NAME" "$1" "$2" "$3" >&4; }
# Runs a command and reports its wall time under a phase.
timed() {
  local phase=$1; shift
  local t0; t0=$(now)
  "$@"
  local rc=$?
  emit phase "$phase" "$(( $(now) - t0 ))"
  return $rc
}

url() { printf 'http://%s:%s%s' "$IP" "$PORT" "$1"; }

wait_ready() {
  local deadline=$(( $(now) + BOOT_TIMEOUT * 1000 ))
  until curl -fsS -m 5 -o /dev/null "$(url /readyz)" 2>/dev/null; do
    if [ -n "$HOST_JOB" ] && ! kill -0 "$HOST_JOB" 2>/dev/null; then echo "the host exited before it was ready" >&2; return 1; fi
    if (( $(now) > deadline )); then echo "the host was not ready within ${BOOT_TIMEOUT} s" >&2; return 1; fi
    sleep 0.2
  done
}

boot() {
  # The host runs in the foreground of a docker exec kept in the background: its end is the host's exit.
  docker exec "$CID" sh -c "echo \$\$ > $PIDFILE; exec $HOST_CMD" >> "$WORK/host.log" 2>&1 < /dev/null &
  HOST_JOB=$!
  wait_ready
}

stop_host() {
  docker exec "$CID" sh -c "kill -TERM \$(cat $PIDFILE)" < /dev/null > /dev/null 2>&1 || return 1
  wait "$HOST_JOB" 2>/dev/null
  HOST_JOB=""
}

restart() { stop_host && boot; }

serve() {
  docker exec -d "$CID" python3 -m http.server "$2" --bind 0.0.0.0 --directory "$1" < /dev/null || return 1
  local deadline=$(( $(now) + BOOT_TIMEOUT * 1000 ))
  until curl -fsS -m 5 -o /dev/null "http://$IP:$2/" 2>/dev/null; do
    if (( $(now) > deadline )); then echo "the file server did not answer within ${BOOT_TIMEOUT} s" >&2; return 1; fi
    sleep 0.2
  done
}

# call METHOD PATH BODY STATUS_RE JQ EXPECT_RE: one request, its status and (with JQ) one value compared.
call() {
  local method=$1 path=$2 body=$3 status_re=$4 query=$5 expect_re=$6 code got
  if [ "$body" != "-" ]; then
    code=$(curl -sS -m 600 -o "$WORK/answer" -w '%{http_code}' -X "$method" -H 'content-type: application/json' --data-binary "@$CASE/$body" "$(url "$path")")
  else
    code=$(curl -sS -m 600 -o "$WORK/answer" -w '%{http_code}' -X "$method" "$(url "$path")")
  fi
  if ! [[ $code =~ $status_re ]]; then echo "$method $path answered $code, expected $status_re: $(head -c 300 "$WORK/answer")" >&2; return 1; fi
  [ "$query" = "-" ] && return 0
  got=$(jq -r "$query" "$WORK/answer" 2>&1)
  if ! [[ $got =~ $expect_re ]]; then echo "$method $path: $query gave '$got', expected $expect_re" >&2; return 1; fi
}

# wait_for PATH JQ EXPECT_RE TIMEOUT_S: polls a GET until the value matches.
wait_for() {
  local path=$1 query=$2 expect_re=$3 deadline=$(( $(now) + $4 * 1000 )) got
  while :; do
    got=$(curl -sS -m 30 "$(url "$path")" 2>/dev/null | jq -r "$query" 2>/dev/null)
    [[ $got =~ $expect_re ]] && return 0
    if (( $(now) > deadline )); then echo "GET $path: $query still '$got' after $4 s, expected $expect_re" >&2; return 1; fi
    sleep 0.2
  done
}

start_container() {
  CID=$(docker run -d --rm --platform "$PLATFORM" --init --memory 1g --pids-limit 512 \
    -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PIP_NO_INPUT=1 -e PIP_ROOT_USER_ACTION=ignore ${QEMU_CPU:+-e QEMU_CPU=$QEMU_CPU} \
    "${LABEL_ARGS[@]}" --label "dev.distcheck.cell=$CELL" --label "dev.distcheck.bench-case=$NAME" "$IMAGE" sleep infinity < /dev/null) || return 1
  IP=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$CID") || return 1
  tar -C "$CASE/files" -cf - . | docker cp - "$CID:/"
}

run_steps() {
  local op a b c d e f
  # A last line without its newline is a step too (read fails at the end of the file but fills op).
  while IFS=$'\t' read -r -u 3 op a b c d e f || [ -n "$op" ]; do
    case "$op" in
      pip) timed install docker exec "$CID" python3 -m pip $a < /dev/null > "$WORK/pip.log" 2>&1 || { echo "pip $a failed: $(tail -c 300 "$WORK/pip.log")" >&2; return 2; } ;;
      boot) timed boot boot || return 2 ;;
      restart) timed boot restart || return 2 ;;
      serve) timed install serve "$a" "$b" || return 2 ;;
      call) timed assertions call "$a" "$b" "$c" "$d" "$e" "$f" || return 1 ;;
      wait) timed assertions wait_for "$a" "$b" "$c" "$d" || return 1 ;;
      *) echo "unknown step $op" >&2; return 2 ;;
    esac
  done 3< "$CASE/steps"
}

for CASE in "$@"; do
  # shellcheck source=/dev/null
  source "$CASE/case.env"
  WORK=$(mktemp -d)
  case_started=$(now)
  CID=""
  HOST_JOB=""
  result=pass
  timed image docker image inspect "$IMAGE" > /dev/null 2>&1 || { emit wall - "$(( $(now) - case_started ))"; emit result error "image $IMAGE is missing"; rm -rf "$WORK"; continue; }
  if timed container start_container 2> "$WORK/errors"; then
    run_steps 2> "$WORK/errors"
    case $? in 0) ;; 1) result=fail ;; *) result=error ;; esac
  else
    result=error
  fi
  if [ -n "$CID" ]; then timed teardown docker rm -f "$CID" > /dev/null 2>&1; fi
  [ -n "$HOST_JOB" ] && wait "$HOST_JOB" 2>/dev/null
  CID=""
  emit wall - "$(( $(now) - case_started ))"
  emit result "$result" "$(tr '\n\t' '  ' < "$WORK/errors" | head -c 500)"
  rm -rf "$WORK"
done
