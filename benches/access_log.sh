#!/usr/bin/env bash
# benches/access_log.sh - what one access log line costs jkgate, in CPU time per request.
#
# Usage: benches/access_log.sh [--secs S] [--rounds R]     (defaults: 5 s, 3 rounds)
# Environment: JKGATE_BIN (default target/release/jkgate, built when unset),
#   BASELINE_BIN (optional: a second jkgate binary measured in the same run, e.g. the
#   previous release, whose lines go through its own logging).
#
# jkgate alone, with no backend: wrk (-t 2 -c 32) asks for a path nothing is mounted on, so
# jkgate answers 404 itself and writes one access log line per request. The same load runs
# with `AccessLog = off`, to a file, and to standard output (redirected to a file, as a
# service manager's journal pipe or a `> file` would take it), interleaved R times; the figure
# is jkgate's CPU time (utime + stime from /proc) per request, and the cost of the log is the
# difference to `off`. Every process is stopped by its PID on exit; all on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS=5 ROUNDS=3
while (($#)); do
    case $1 in
        --secs) SECS=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
WORK=$(mktemp -d /tmp/jkgate-accesslog.XXXXXX)
NODES=0 SESSION=own LOG_TAG=access_log URLPATH=/ THREADS=2 CONNS=32 WARMUP=2
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
require_tools wrk curl

build_jkgate
BINARIES=("new:$JKGATE")
if [[ -n ${BASELINE_BIN:-} ]]; then
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN $BASELINE_BIN is not executable"
    BINARIES+=("baseline:$BASELINE_BIN")
fi
# A status worker only: nothing is mounted on /none, so jkgate answers 404 itself.
printf 'worker.list=jkstatus\nworker.jkstatus.type=status\n' >"$WORK/workers.properties"

run_one() { # LABEL BINARY MODE
    local label=$1 bin=$2 mode=$3 port access out
    port=$(free_port)
    case $mode in
        off) access=off out=/dev/null ;;
        file) access="$WORK/access-$label.log" out=/dev/null ;;
        stdout) access=- out="$WORK/stdout-$label.log" ;;
    esac
    (daemon "$bin" --listen "127.0.0.1:$port" --workers-file "$WORK/workers.properties" \
        --mount '/jkstatus=jkstatus' --access-log "$access") </dev/null >>"$out" 2>>"$WORK/jkgate.log" &
    JKGATE_PID=$!
    local url="http://127.0.0.1:$port"
    wait_http "$url/jkstatus" 30 || die "jkgate ($bin) does not answer"
    warm_up "$url/none"
    measure "$label-$mode" "$url/none" "$JKGATE_PID"
    stop_jkgate
    rm -f "$WORK/access-$label.log" "$WORK/stdout-$label.log"
}

for ((round = 1; round <= ROUNDS; round++)); do
    for entry in "${BINARIES[@]}"; do
        for mode in off file stdout; do
            log "round $round: ${entry%%:*} AccessLog=$mode"
            run_one "${entry%%:*}" "${entry#*:}" "$mode"
        done
    done
done

printf '\n== access log cost: jkgate alone answering 404, wrk -t %s -c %s, median of %s runs of %s s\n' \
    "$THREADS" "$CONNS" "$ROUNDS" "$SECS"
printf '%-10s %-8s %12s %14s %16s\n' binary log req/s "CPU us/req" "log cost us/req"
for entry in "${BINARIES[@]}"; do
    label=${entry%%:*}
    for mode in off file stdout; do median_run "$label-$mode"; done
    for mode in off file stdout; do
        cost=$(awk -v a="${US[$label-$mode]}" -v b="${US[$label-off]}" 'BEGIN { printf "%.1f", a - b }')
        printf '%-10s %-8s %12s %14s %16s\n' "$label" "$mode" "${RPS[$label-$mode]}" "${US[$label-$mode]}" "$cost"
    done
done
