#!/usr/bin/env bash
# benches/soak.sh - jkgate under mixed traffic for a long time (issue 13's soak: 10 minutes by
# default), with its memory, open files and pool counts sampled every few seconds.
#
# Usage: benches/soak.sh [--duration SECONDS] [--interval SECONDS] [--warmup SECONDS] [--nodes N]
#   --duration  how long the traffic runs (default 600)
#   --interval  sampling period (default 5)
#   --warmup    samples before this many seconds are not judged (default 60, at most duration/3)
#   --nodes     Tomcat nodes behind the lb worker (default 2; node2 is the one restarted)
# Environment: JKGATE_BIN (default target/release/jkgate, built with `cargo build --release`
# when JKGATE_BIN is unset), KEEP=1 keeps the work directory (samples, logs).
#
# Traffic, all at once, for the whole duration, through one jkgate (lb worker, sticky sessions):
#   - HTTP/1.1 keep-alive: wrk -c 8 on /app/echo
#   - HTTP/1.1 a new connection per request: wrk -c 4 -H 'Connection: close' on the 1 KiB file
#   - HTTP/2 (h2c, prior knowledge): h2load -c 2 -m 8 on the 1 KiB file, in rounds
#   - uploads: curl POSTs of 256 KiB to /app/upload, one after another
#   - clients that abort: curl --max-time 0.3 on /app/echo?sleep=1000 (gives up while Tomcat
#     works) and on a 20 MB streamed response (gives up in the middle of the body)
#   - node2 restarted twice: kill -9 at 1/3 and 2/3 of the duration, started again 5 s later
#     (the lb's recover_time is 10 s, so it serves again during the run)
# Every --interval seconds a sample of jkgate: RSS (KiB), open file descriptors, threads, and
# from its status worker (mime=prop): busy and connected per member, the lb's busy, member
# states. Printed as a table (and kept as WORK/samples.tsv).
# At the end, the traffic stops and after 3 s of quiet: busy must be 0 everywhere. The summary
# gives RSS and open files right after warm-up, their maximum and at the end, and the growth
# from warm-up to the end; the script exits 1 if something is left busy.
# Everything listens on 127.0.0.1, every load is bounded by `timeout`, and every process
# started here is stopped by its recorded PID on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION=600 INTERVAL=5 WARMUP_S=60 NODES=2 SESSION=own
while (($#)); do
    case $1 in
        --duration) DURATION=$2; shift ;;
        --interval) INTERVAL=$2; shift ;;
        --warmup) WARMUP_S=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
((NODES >= 2 && NODES <= 9)) || { echo "--nodes must be 2..9" >&2; exit 2; }
((WARMUP_S > DURATION / 3)) && WARMUP_S=$((DURATION / 3))

LOG_TAG=soak URLPATH=/app/static/1k.bin SECS=0 THREADS=1 CONNS=1 WARMUP=0
WORK=$(mktemp -d /tmp/jkgate-soak.XXXXXX)
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
require_tools wrk h2load curl

for ((k = 1; k <= NODES; k++)); do node_start "$k" --fast-start; done
{
    echo "worker.list=lb,jkstatus"
    members=()
    for ((k = 1; k <= NODES; k++)); do
        cat <<EOF
worker.node$k.type=ajp13
worker.node$k.host=127.0.0.1
worker.node$k.port=${NODE_AJP[k]}
worker.node$k.route=node$k
worker.node$k.socket_keepalive=true
EOF
        members+=("node$k")
    done
    echo "worker.lb.type=lb"
    echo "worker.lb.balance_workers=$(IFS=,; echo "${members[*]}")"
    echo "worker.lb.sticky_session=true"
    # node2 is restarted twice: let the lb try it again 10 s after an error (mod_jk's 60).
    echo "worker.lb.recover_time=10"
    echo "worker.jkstatus.type=status"
} >"$WORK/workers.properties"
start_jkgate "$WORK/workers.properties" --mount '/jkstatus=jkstatus'
URL=$JKGATE_URL

# --- sampling ------------------------------------------------------------------------------
SAMPLES=$WORK/samples.tsv
{
    printf 't\trss_kib\tfds\tthreads\tlb_busy'
    for ((k = 1; k <= NODES; k++)); do printf '\tnode%d_busy\tnode%d_conn\tnode%d_state' "$k" "$k" "$k"; done
    printf '\n'
} >"$SAMPLES"
sample() { # T: one line of SAMPLES
    local t=$1 prop rss fds threads line k
    prop=$(curl -s -m 5 "$URL/jkstatus?mime=prop" || true)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$JKGATE_PID/status")
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$JKGATE_PID/status")
    fds=$(find "/proc/$JKGATE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    val() { awk -F= -v k="$1" '$1 == k { print $2; exit }' <<<"$prop"; }
    line="$t	$rss	$fds	$threads	$(val worker.lb.busy)"
    for ((k = 1; k <= NODES; k++)); do
        line+="	$(val "worker.node$k.busy")	$(val "worker.node$k.connected")	$(val "worker.node$k.state")"
    done
    echo "$line" >>"$SAMPLES"
    echo "$line"
}

# --- traffic -------------------------------------------------------------------------------
END=$((SECONDS + DURATION))
loop_until_end() { # CMD...: runs CMD again and again until the end
    while ((SECONDS < END)); do "$@" >/dev/null 2>&1 || true; done
}
start_bg() { "$@" & BG_PIDS+=($!); }

start_bg timeout -k 5 $((DURATION + 10)) wrk -t 1 -c 8 -d "${DURATION}s" "$URL/app/echo"
start_bg timeout -k 5 $((DURATION + 10)) wrk -t 1 -c 4 -d "${DURATION}s" -H 'Connection: close' "$URL/app/static/1k.bin"
start_bg loop_until_end timeout -k 5 40 h2load -c 2 -m 8 -D 30 "$URL/app/static/1k.bin"
head -c 262144 /dev/urandom >"$WORK/upload.bin"
start_bg loop_until_end curl -s -o /dev/null -m 30 --data-binary @"$WORK/upload.bin" "$URL/app/upload"
start_bg loop_until_end curl -s -o /dev/null --max-time 0.3 "$URL/app/echo?sleep=1000"
start_bg loop_until_end curl -s -o /dev/null --max-time 0.3 --limit-rate 2M "$URL/app/echo?gen=20000000&flush=65536"

START=$SECONDS
restarter() { # node2: kill -9 at 1/3 and 2/3 of the duration, started again 5 s later
    local frac at
    for frac in 1 2; do
        at=$((START + DURATION * frac / 3))
        while ((SECONDS < at)); do sleep 1; done
        # shellcheck disable=SC1091
        source "$WORK/tomcat2/node.env"
        TOMCAT_PIDS[1]=$PID
        log "kill -9 node2 (t=$((SECONDS - START)) s)"
        node_kill 2
        sleep 5
        node_start 2 --fast-start
        log "node2 back (t=$((SECONDS - START)) s)"
    done
}
start_bg restarter
log "soak: $DURATION s of mixed traffic on $URL, a sample every $INTERVAL s"
while ((SECONDS < END)); do
    sample $((SECONDS - START))
    sleep "$INTERVAL"
done
log "traffic ends"
for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
BG_PIDS=()
sleep 3
final=$(sample "end")

# --- summary -------------------------------------------------------------------------------
summary=$(awk -F'\t' -v warm="$WARMUP_S" '
    NR == 1 { next }
    $1 == "end" { end_rss = $2; end_fds = $3; next }
    $1 + 0 >= warm && !seen { seen = 1; warm_rss = $2; warm_fds = $3; warm_t = $1 }
    { if ($2 > max_rss) max_rss = $2; if ($3 > max_fds) max_fds = $3; n++ }
    END {
        printf "samples %d; after warm-up (t=%ss): RSS %d KiB, %d fds; max: RSS %d KiB, %d fds; end: RSS %d KiB, %d fds; RSS growth warm-up to end: %+d KiB\n",
            n, warm_t, warm_rss, warm_fds, max_rss, max_fds, end_rss, end_fds, end_rss - warm_rss
    }' "$SAMPLES")
echo
column -t -s $'\t' "$SAMPLES"
echo
echo "soak $DURATION s: $summary"
busy_left=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
    $1 == "end" { for (i = 1; i <= NF; i++) if (h[i] ~ /busy$/ && $i != 0) printf "%s=%s ", h[i], $i }' "$SAMPLES")
if [[ -n $busy_left ]]; then
    echo "FAIL: left busy at the end: $busy_left"
    exit 1
fi
echo "nothing left busy at the end ($final)"
