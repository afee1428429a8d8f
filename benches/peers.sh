#!/usr/bin/env bash
# benches/peers.sh - jkgate against what operators leave httpd + mod_jk for: httpd + mod_jk
# (AJP), HAProxy and nginx (HTTP to Tomcat's HTTP connector), in front of the same Tomcat
# nodes in one run, with every ratio.
#
# Usage: benches/peers.sh [--quick] [--secs S] [--rounds R] [--nodes N] [--shared-session] [--floor]
#   --quick   one 2 s run per proxy and path: a smoke test, the figures mean little
#   (default) 10 s runs, the median of 3 interleaved runs per proxy and path (about 8 minutes)
#   --floor   adds the floor of jkgate's stack (examples/hyper_floor.rs, lib.sh
#             start_hyper_floor): "hyper", the smallest hyper + tokio HTTP proxy, in front of
#             the same nodes, and "answer", hyper's server alone answering the static files from
#             memory (not the session page); then a table of user and kernel time per request
#             against them
# Environment: JKGATE_BIN (default target/release/jkgate, built when unset), KEEP=1,
#   JKGATE_ACCESS_LOG (default off: none of the peers logs requests here either; a file path
#   measures jkgate with its access log on), BASELINE_BIN (optional: another jkgate binary,
#   e.g. an earlier commit's, measured in the same run as one more proxy, `baseline`).
#
# Paths, as benches/loadtest.sh section 4 measures them: the 1 KiB file, the session page
# with one JSESSIONID cookie (sticky: created through each proxy, so each proxy's session is
# on the node that proxy chose), and the 100 KiB file. wrk -t 2 -c 32. For each: requests/s,
# p50/p99, the proxy's CPU time per request (its process tree, from /proc; in user space and in
# the kernel, and their sum) and the Tomcat
# JVMs' CPU time per request; then jkgate's ratio to each peer, with the lowest and highest
# ratio between runs of the same round (req/s and CPU): the run-to-run spread to read it by.
# The peers are configured as their users do for Tomcat (lib.sh: start_haproxy, start_nginx):
# 2 threads or workers, upstream keep-alive, no access log, sticky by JSESSIONID (HAProxy's
# stick table) or by its jvmRoute suffix (nginx's map).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0 NODES=3 SESSION=own SECS=10 ROUNDS=3 WARMUP=5 FLOOR=0
while (($#)); do
    case $1 in
        --quick) QUICK=1 SECS=2 ROUNDS=1 WARMUP=1 ;;
        --secs) SECS=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        --shared-session) SESSION=shared ;;
        --floor) FLOOR=1 ;;
        -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
THREADS=2 CONNS=32 LOG_TAG=peers URLPATH=/app/static/1k.bin
PROXIES=(mod_jk jkgate haproxy nginx)
PEERS=(mod_jk haproxy nginx)
BASELINE_PID="" BASELINE_URL=""
WORK=$(mktemp -d /tmp/jkgate-peers.XXXXXX)
chmod 755 "$WORK"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
require_tools wrk curl python3 /usr/sbin/apache2 /usr/sbin/haproxy /usr/sbin/nginx

url_of() {
    case $1 in mod_jk) echo "$MODJK_URL" ;; jkgate) echo "$JKGATE_URL" ;; haproxy) echo "$HAPROXY_URL" ;; nginx) echo "$NGINX_URL" ;; baseline) echo "$BASELINE_URL" ;;
        hyper) echo "$HYPER_URL" ;; answer) echo "$ANSWER_URL" ;; esac
}
pid_of() {
    case $1 in mod_jk) echo "$HTTPD_PID" ;; jkgate) echo "$JKGATE_PID" ;; haproxy) echo "$HAPROXY_PID" ;; nginx) echo "$NGINX_PID" ;; baseline) echo "$BASELINE_PID" ;;
        hyper) echo "$HYPER_PID" ;; answer) echo "$ANSWER_PID" ;; esac
}
# proxies_of LABEL: the proxies measured on a path (hyper_floor's answer has no session page)
proxies_of() {
    local p
    for p in "${PROXIES[@]}"; do [[ $p == answer && $1 == session ]] || echo "$p"; done
}

log "starting $NODES Tomcat node(s)"
for ((k = 1; k <= NODES; k++)); do node_start "$k"; done
write_workers "$WORK/workers.properties"
build_jkgate
start_modjk "$WORK/workers.properties"
if [[ -n ${BASELINE_BIN:-} ]]; then
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN $BASELINE_BIN is not executable"
    current=$JKGATE JKGATE=$BASELINE_BIN
    start_jkgate "$WORK/workers.properties"
    BASELINE_PID=$JKGATE_PID BASELINE_URL=$JKGATE_URL JKGATE=$current
    PROXIES+=(baseline) PEERS+=(baseline)
    # Stop the baseline too, then the usual clean-up (which reads the exit status from $?).
    trap 'rc=$?; stop_pid "$BASELINE_PID" "$WORK/"; (exit $rc); bench_cleanup' EXIT
fi
start_jkgate "$WORK/workers.properties"
start_haproxy
start_nginx
if ((FLOOR)); then
    start_hyper_floor
    PROXIES+=(hyper answer)
fi

# path LABEL PATH [cookie]: every proxy, interleaved, ROUNDS times.
path() {
    local label=$1 path=$2 cookie=${3:-} p round hdr=() proxies=()
    declare -A H=()
    mapfile -t proxies < <(proxies_of "$label")
    for p in "${proxies[@]}"; do
        H[$p]=""
        if [[ -n $cookie ]]; then # one session per proxy, created through it
            H[$p]=$(session_cookie "$(url_of "$p")$path" "$WORK/session.$p" strict) || exit 1
        fi
    done
    for p in "${proxies[@]}"; do
        hdr=()
        if [[ -n ${H[$p]} ]]; then hdr=(-H "${H[$p]}"); fi
        warm_up "$(url_of "$p")$path" "${hdr[@]}"
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for p in "${proxies[@]}"; do
            hdr=()
            if [[ -n ${H[$p]} ]]; then hdr=(-H "${H[$p]}"); fi
            measure "$label:$p" "$(url_of "$p")$path" "$(pid_of "$p")" "${hdr[@]}"
        done
    done
    for p in "${proxies[@]}"; do median_run "$label:$p"; done
}

path 1k /app/static/1k.bin
path session /app/session cookie
path 100k /app/static/100k.bin

echo
echo "== jkgate and its peers: wrk -t $THREADS -c $CONNS, $SECS s runs, median of $ROUNDS interleaved run(s) per proxy and path, $NODES Tomcat node(s), $(nproc) cores, proxies in $SESSION session(s), jkgate access log ${JKGATE_ACCESS_LOG:-off}"
printf '%-8s %-8s %10s %8s %8s %11s %6s %6s %14s %7s\n' path proxy 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req' user system 'Tomcat us/req' errors
for label in 1k session 100k; do
    while read -r p; do
        n=$label:$p
        printf '%-8s %-8s %10s %8s %8s %11s %6s %6s %14s %7s\n' "$label" "$p" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" "${US[$n]}" \
            "${USR[$n]}" "${SYS[$n]}" "${BACK[$n]}" "${ERR[$n]}"
    done < <(proxies_of "$label")
done
echo
echo "== jkgate / peer (req/s: above 1 is better for jkgate; CPU per request: below 1 is better;"
echo "   the ranges: lowest and highest ratio between runs of the same round)"
printf '%-8s %-8s %10s %8s %11s %14s %12s %12s\n' path peer 'req/s' 'p50' 'CPU/req' 'Tomcat CPU/req' 'req/s range' 'CPU range'
for label in 1k session 100k; do
    j=$label:jkgate
    for p in "${PEERS[@]}"; do
        n=$label:$p
        printf '%-8s %-8s %10s %8s %11s %14s %12s %12s\n' "$label" "$p" "$(ratio "${RPS[$j]}" "${RPS[$n]}")" \
            "$(ratio "${P50[$j]}" "${P50[$n]}")" "$(ratio "${US[$j]}" "${US[$n]}")" "$(ratio "${BACK[$j]}" "${BACK[$n]}")" \
            "$(round_ratio_range "$j" "$n" 1)" "$(round_ratio_range "$j" "$n" 4)"
    done
done

if ((FLOOR)); then
    echo
    echo "== jkgate against the floor of its stack (CPU per request; below 1 is better for jkgate):"
    echo "   user: jkgate's user time / the hyper proxy's (hyper + tokio + hyper-util's client, no AJP)"
    echo "   kernel: jkgate's kernel time alone / each HTTP peer's whole CPU time (user + kernel)"
    printf '%-8s %14s %14s %14s %14s\n' path 'user / hyper' 'user / answer' 'kernel / nginx' 'kernel / haproxy'
    for label in 1k session 100k; do
        j=$label:jkgate
        printf '%-8s %14s %14s %14s %14s\n' "$label" "$(ratio "${USR[$j]}" "${USR[$label:hyper]}")" \
            "$(ratio "${USR[$j]}" "${USR[$label:answer]:-}")" "$(ratio "${SYS[$j]}" "${US[$label:nginx]}")" \
            "$(ratio "${SYS[$j]}" "${US[$label:haproxy]}")"
    done
fi
