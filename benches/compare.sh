#!/usr/bin/env bash
# benches/compare.sh - jkgate vs Apache httpd + mod_jk in front of the same Tomcat.
#
# Usage: benches/compare.sh [--secs N] [--threads N] [--conns N] [--warmup N] [--path PATH]
#                           [--nodes N] [--rounds N] [--only jkgate|modjk] [--shared-session]
#   --secs     measured wrk run per proxy, seconds (default 10)
#   --threads  wrk threads (default 2)       --conns  wrk connections (default 32)
#   --warmup   unmeasured wrk run against each proxy before the first measurement, seconds
#              (default 3)
#   --path     request path (default /app/static/1k.bin)
#   --nodes    Tomcat nodes behind the lb worker (default 3, as in the incumbent baseline)
#   --rounds   measured runs per proxy, interleaved mod_jk, jkgate, mod_jk, ... (default 3);
#              the table shows each proxy's median run (by requests/s), so neither proxy is
#              always the one measured against colder JVMs
#   --only     measure one proxy only
#   --shared-session  run both proxies in this script's session instead of each in its own
#              (see "Scheduling" below)
# Environment: JKGATE_BIN (default target/release/jkgate, built with `cargo build --release`
# when missing), KEEP=1 keeps the work directory, JKGATE_ACCESS_LOG (default off, as mod_jk runs
# here with no request log; a file path measures jkgate with its access log on).
#
# Starts N Tomcat nodes (scripts/tomcat-node.sh, full JIT; routes node1..nodeN), then jkgate
# (`--listen 127.0.0.1:P --workers-file W --mount '/app/*=lb'`) and httpd + mod_jk (private
# ServerRoot, event MPM, access log off) on their own loopback ports with the same
# workers.properties W, and drives each with wrk (bounded by `timeout`). Prints requests/s,
# p50/p99 latency, the proxy's CPU time per request (utime+stime of the proxy process and
# all its descendants, from /proc/PID/stat) and the Tomcat JVMs' CPU time per request, then
# the ratios jkgate/mod_jk.
# Every process started here is stopped by its recorded PID on exit.
#
# Scheduling: with Linux autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled = 1)
# the CPU is shared fairly between sessions first, then between the threads of a session.
# A daemon (`apache2 -k start`, a systemd service, the harness's httpd) has a session of its
# own; wrk and the Tomcat nodes run in this script's session. Both proxies are therefore
# started with setsid, each in its own session as they run in production. --shared-session
# keeps both in this script's session instead, where httpd's many threads compete thread by
# thread with wrk and the JVMs: on the 2-core machine mod_jk then served up to 30 % more
# requests/s than as a daemon, while jkgate's figures moved little. The table says which
# arrangement was measured.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS=10 THREADS=2 CONNS=32 WARMUP=3 URLPATH=/app/static/1k.bin ONLY="" NODES=3 ROUNDS=3 SESSION=own
while (($#)); do
    case $1 in
        --secs) SECS=$2; shift ;;
        --threads) THREADS=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --path) URLPATH=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --shared-session) SESSION=shared ;;
        -h | --help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $SECS =~ ^[0-9]+$ ]] && ((SECS >= 1 && SECS <= 300)) || { echo "--secs must be 1..300" >&2; exit 2; }
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 1 && NODES <= 9)) || { echo "--nodes must be 1..9" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 9)) || { echo "--rounds must be 1..9" >&2; exit 2; }

LOG_TAG=compare
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools wrk curl python3 /usr/sbin/apache2

WORK=$(mktemp -d /tmp/jkgate-compare.XXXXXX)
chmod 755 "$WORK"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# --- the backends -------------------------------------------------------------------------
log "starting $NODES Tomcat node(s)"
for ((k = 1; k <= NODES; k++)); do node_start "$k"; done
write_workers "$WORK/workers.properties"

if [[ $ONLY != jkgate ]]; then start_modjk; fi
if [[ $ONLY != modjk ]]; then build_jkgate; start_jkgate; fi
# Both proxies warm up (and the JVMs with them) before anything is measured.
if [[ $ONLY != jkgate ]]; then warm_up "$MODJK_URL$URLPATH"; fi
if [[ $ONLY != modjk ]]; then warm_up "$JKGATE_URL$URLPATH"; fi
for ((round = 1; round <= ROUNDS; round++)); do
    if [[ $ONLY != jkgate ]]; then measure mod_jk "$MODJK_URL$URLPATH" "$HTTPD_PID"; fi
    if [[ $ONLY != modjk ]]; then measure jkgate "$JKGATE_URL$URLPATH" "$JKGATE_PID"; fi
done
for name in mod_jk jkgate; do # each proxy's median run by requests/s
    [[ -n ${RUNS[$name]:-} ]] || continue
    median_run "$name"
    echo "$name runs (requests/s p50 p99 proxy-us/request errors tomcat-us/request):" >&2
    printf '%s' "${RUNS[$name]}" | sed 's/^/    /' >&2
done

echo
echo "path $URLPATH, wrk -t $THREADS -c $CONNS, ${SECS} s per run, median of $ROUNDS interleaved runs per proxy, $NODES Tomcat node(s), $(nproc) cores, proxies in $SESSION session(s)"
printf '%-8s %12s %10s %10s %16s %8s %18s\n' proxy 'requests/s' 'p50 ms' 'p99 ms' 'CPU us/request' errors 'Tomcat us/request'
for name in mod_jk jkgate; do
    [[ -n ${RPS[$name]:-} ]] || continue
    printf '%-8s %12s %10s %10s %16s %8s %18s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${US[$name]}" "${ERR[$name]}" "${BACK[$name]}"
done
if [[ -n ${RPS[jkgate]:-} && -n ${RPS[mod_jk]:-} ]]; then
    awk -v a="${RPS[jkgate]}" -v b="${RPS[mod_jk]}" -v c="${P50[jkgate]}" -v d="${P50[mod_jk]}" \
        -v e="${P99[jkgate]}" -v f="${P99[mod_jk]}" -v g="${US[jkgate]}" -v h="${US[mod_jk]}" '
        function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "n/a" }
        BEGIN { printf "jkgate/mod_jk: requests/s %s, p50 %s, p99 %s, CPU per request %s\n",
                ratio(a, b), ratio(c, d), ratio(e, f), ratio(g, h) }'
fi
