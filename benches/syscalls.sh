#!/usr/bin/env bash
# benches/syscalls.sh - the system calls Tomcat and each proxy make per request: httpd +
# mod_jk and jkgate over AJP, HAProxy and nginx over HTTP, in front of the same Tomcat
# node(s), counted by the kernel's syscall tracepoints (perf stat), not by strace, which
# would slow Tomcat enough to change what it does.
#
# Usage: benches/syscalls.sh [--secs S] [--nodes N] [--packet-size 65536]
#   --packet-size  run the nodes' AJP connectors with this packetSize and give every member
#                  the same max_packet_size
# Environment: JKGATE_BIN (default target/release/jkgate, built when unset), KEEP=1.
#
# Why: Tomcat spends more CPU per request behind an AJP proxy than behind an HTTP one. These
# counts show where: how many write(2) calls Tomcat makes per response, how often its read of
# the next request on a kept-alive connection finds nothing (EAGAIN), after which Tomcat's
# poller has to re-register the socket (epoll_ctl) and hand it to a worker thread (futex) when
# the request comes; and the same counts for each proxy. Paths: the 1 KiB file and the
# 100 KiB file, wrk -t 2 -c 32. Needs perf (Debian linux-perf) and root or
# kernel.perf_event_paranoid <= -1 for the tracepoints.
# Also counted for the AJP proxies, from the kernel's own per-socket counters (ss -ti): the TCP
# segments per request: the data segments Tomcat sends, and the pure ACKs the proxy sends
# back. (Not for the HTTP peers: Tomcat's HTTP connector closes a connection after
# maxKeepAliveRequests, 100 by default, and a closed socket's counters are gone.)
# Tomcat's AJP connector flushes every AJP message as a segment of its own; a reader that then
# empties a buffer holding two small pushed segments, or more than one segment's worth of
# unacknowledged data, makes its kernel send an ACK at once (tcp_cleanup_rbuf), and on
# loopback that ACK's transmission and its processing on Tomcat's socket are the reader's CPU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODES=1 SESSION=own SECS=5 WARMUP=2 PACKET=""
while (($#)); do
    case $1 in
        --secs) SECS=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        --packet-size) PACKET=$2; shift ;;
        -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
THREADS=2 CONNS=32 LOG_TAG=syscalls URLPATH=/app/static/1k.bin
PROXIES=(mod_jk jkgate haproxy nginx)
WORK=$(mktemp -d /tmp/jkgate-syscalls.XXXXXX)
chmod 755 "$WORK"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
require_tools wrk curl perf python3 /usr/sbin/apache2 /usr/sbin/haproxy /usr/sbin/nginx
perf stat -e raw_syscalls:sys_enter -p $$ -- true >/dev/null 2>&1 ||
    die "perf cannot count syscall tracepoints here (run as root, or sysctl kernel.perf_event_paranoid=-1)"

url_of() {
    case $1 in mod_jk) echo "$MODJK_URL" ;; jkgate) echo "$JKGATE_URL" ;; haproxy) echo "$HAPROXY_URL" ;; nginx) echo "$NGINX_URL" ;; esac
}
pid_of() {
    case $1 in mod_jk) echo "$HTTPD_PID" ;; jkgate) echo "$JKGATE_PID" ;; haproxy) echo "$HAPROXY_PID" ;; nginx) echo "$NGINX_PID" ;; esac
}

# tree_pids PID: PID and its live descendants, comma-separated (httpd's and nginx's workers).
tree_pids() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        { pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " "); parent[pid] = f[2] }
        END {
            member[root] = 1; grew = 1
            while (grew) { grew = 0; for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 } }
            sep = ""; for (p in member) if (p in parent) { printf "%s%s", sep, p; sep = "," }
            print ""
        }'
}

# What is counted, as perf event arguments; EAGAIN is -11.
EVENTS=(-e raw_syscalls:sys_enter -e context-switches
    -e syscalls:sys_enter_read -e syscalls:sys_enter_recvfrom
    -e syscalls:sys_exit_read --filter 'ret == -11' -e syscalls:sys_exit_recvfrom --filter 'ret == -11'
    -e syscalls:sys_enter_write -e syscalls:sys_enter_writev -e syscalls:sys_enter_sendto
    -e syscalls:sys_enter_sendfile64 -e syscalls:sys_enter_futex -e syscalls:sys_enter_epoll_ctl
    -e syscalls:sys_enter_epoll_wait)
# (in this order: all, cs, read, recvfrom, their EAGAINs, write, writev, sendto, sendfile,
# futex, epoll_ctl, epoll_wait)

# ajp_segments: per socket to the Tomcat nodes' AJP ports (only the proxy under load sends on
# them), its local address and its counters: segs_out data_segs_out data_segs_in.
ajp_segments() {
    local ports=() k filter
    for ((k = 1; k <= NODES; k++)); do ports+=("${NODE_AJP[k]}"); done
    filter=$(printf 'dport = :%s or ' "${ports[@]}")
    ss -tinH state established "( ${filter% or } )" | awk '
        /^[^ \t]/ { local = $(NF - 1); next }
        {
            delete c
            for (i = 1; i <= NF; i++) { split($i, kv, ":"); c[kv[1]] = kv[2] }
            print local, c["segs_out"] + 0, c["data_segs_out"] + 0, c["data_segs_in"] + 0
        }'
}

# segments_per_request BEFORE AFTER: data segments from Tomcat, and pure ACKs to it, per
# FORWARD_REQUEST (one data segment each, for these GETs), over the sockets still open at the
# end (wrk's stop cuts responses short, and a connection closed then takes its counts along).
segments_per_request() {
    awk 'NR == FNR { so[$1] = $2; dso[$1] = $3; dsi[$1] = $4; next }
        {
            requests += $3 - dso[$1]; from += $4 - dsi[$1]
            acks += ($2 - $3) - (so[$1] - dso[$1])
        }
        END { if (requests > 0) printf "%.2f %.2f", from / requests, acks / requests; else printf "- -" }' "$1" "$2"
}

declare -A COUNTS=()
# count LABEL PROXY: wrk through PROXY while perf counts Tomcat's and the proxy's calls.
count() {
    local label=$1 p=$2 url out requests tomcat proxy t perfs=()
    url="$(url_of "$p")$3"
    warm_up "$url"
    tomcat=$(IFS=,; echo "${TOMCAT_PIDS[*]}")
    proxy=$(tree_pids "$(pid_of "$p")")
    for t in tomcat proxy; do
        local pids=$tomcat
        [[ $t == proxy ]] && pids=$proxy
        perf stat -x, "${EVENTS[@]}" -p "$pids" -o "$WORK/perf.$label.$p.$t" -- sleep $((SECS + 1)) &
        perfs+=($!)
        BG_PIDS+=($!)
    done
    sleep 0.5
    ajp_segments >"$WORK/segments.before"
    out=$(timeout -k 5 $((SECS + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" "$url")
    ajp_segments >"$WORK/segments.after"
    wait "${perfs[@]}" # (the proxies and nodes are background jobs too)
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    COUNTS[$label:$p:segments]=$(segments_per_request "$WORK/segments.before" "$WORK/segments.after")
    COUNTS[$label:$p:requests]=$requests
    COUNTS[$label:$p:rps]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    for t in tomcat proxy; do
        COUNTS[$label:$p:$t]=$(awk -F, -v r="$requests" '
            /^#/ || NF < 3 { next }
            { v[++n] = ($1 ~ /^[0-9]+$/) ? $1 / r : 0 }
            END { for (i = 1; i <= n; i++) printf "%s%.2f", (i > 1 ? " " : ""), v[i]; print "" }' "$WORK/perf.$label.$p.$t")
    done
}

log "starting $NODES Tomcat node(s)${PACKET:+ with packetSize $PACKET}"
for ((k = 1; k <= NODES; k++)); do node_start "$k" ${PACKET:+--packet-size "$PACKET"}; done
if [[ -n $PACKET ]]; then
    write_workers "$WORK/workers.properties" "worker.%MEMBER%.max_packet_size=$PACKET"
else
    write_workers "$WORK/workers.properties"
fi
build_jkgate
start_modjk "$WORK/workers.properties"
start_jkgate "$WORK/workers.properties"
start_haproxy
start_nginx

for path in 1k:/app/static/1k.bin 100k:/app/static/100k.bin; do
    for p in "${PROXIES[@]}"; do count "${path%%:*}" "$p" "${path#*:}"; done
done

echo
echo "== system calls per request: wrk -t $THREADS -c $CONNS, $SECS s per proxy and path, $NODES Tomcat node(s)${PACKET:+, AJP packetSize $PACKET}, $(nproc) cores"
echo "   (counted while wrk ran; read+recvfrom: reads, EAGAIN: reads that found nothing;"
echo "    writes: write+writev+sendto, sendfile; cs: context switches)"
printf '%-5s %-8s %-7s %9s %7s %7s %7s %8s %7s %9s %10s %10s %6s\n' path proxy process 'req/s' all reads EAGAIN writes sendfile futex epoll_ctl epoll_wait cs
for label in 1k 100k; do
    for p in "${PROXIES[@]}"; do
        for t in tomcat proxy; do
            read -r all cs rd rf rde rfe wr wv st sf fx ec ew <<<"${COUNTS[$label:$p:$t]}"
            printf '%-5s %-8s %-7s %9s %7s %7s %7s %8s %7s %9s %10s %10s %6s\n' "$label" "$p" "$t" "${COUNTS[$label:$p:rps]}" "$all" \
                "$(awk -v a="$rd" -v b="$rf" 'BEGIN { printf "%.2f", a + b }')" \
                "$(awk -v a="$rde" -v b="$rfe" 'BEGIN { printf "%.2f", a + b }')" \
                "$(awk -v a="$wr" -v b="$wv" -v c="$st" 'BEGIN { printf "%.2f", a + b + c }')" \
                "$sf" "$fx" "$ec" "$ew" "$cs"
        done
    done
done

echo
echo "== TCP segments per request between the AJP proxy and Tomcat (the proxy's socket counters, ss -ti)"
echo "   (per FORWARD_REQUEST: data segments Tomcat sent, pure ACKs the proxy sent back)"
printf '%-5s %-8s %16s %20s\n' path proxy 'data from Tomcat' 'pure ACKs to Tomcat'
for label in 1k 100k; do
    for p in mod_jk jkgate; do
        read -r din acks <<<"${COUNTS[$label:$p:segments]}"
        printf '%-5s %-8s %16s %20s\n' "$label" "$p" "$din" "$acks"
    done
done
