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

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in wrk curl python3 /usr/sbin/apache2; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/test installs it)"
done
MODS=/usr/lib/apache2/modules
[[ -e $MODS/mod_jk.so ]] || die "mod_jk is missing: install libapache2-mod-jk (scripts/test does)"

WORK=$(mktemp -d /tmp/jkgate-compare.XXXXXX)
chmod 755 "$WORK"
HTTPD_PID="" JKGATE_PID=""

# alive PID PATTERN: PID runs and its command line contains PATTERN
alive() { [[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

stop_pid() { # PID PATTERN
    local pid=$1 pat=$2 i
    alive "$pid" "$pat" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" "$pat" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    stop_pid "$JKGATE_PID" "$WORK/workers.properties"
    stop_pid "$HTTPD_PID" "$WORK/httpd/httpd.conf"
    local k
    for ((k = 1; k <= NODES; k++)); do
        "$ROOT/scripts/tomcat-node.sh" stop "$WORK/tomcat$k" 2>/dev/null || true
    done
    if [[ ${KEEP:-0} == 1 || $rc != 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# daemon CMD...: runs CMD in a session of its own (setsid does not fork here: a background
# job of this script is never a process group leader), or in ours with --shared-session.
daemon() {
    if [[ $SESSION == own ]]; then exec setsid "$@"; else exec "$@"; fi
}

session_of() { # PID: "own session" or "this script's session" (field 6 of /proc/PID/stat)
    local theirs ours
    theirs=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f4)
    ours=$(sed 's/^.*) //' "/proc/$$/stat" | cut -d' ' -f4)
    if [[ $theirs == "$ours" ]]; then echo "this script's session"; else echo "own session"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL SECONDS
    local deadline=$((SECONDS + $2))
    until [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true) == 200 ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# --- the backends -------------------------------------------------------------------------
log "starting $NODES Tomcat node(s)"
TOMCAT_PIDS=()
{
    echo "# benches/compare.sh: $NODES Tomcat node(s) behind an lb worker"
    echo "worker.list=lb"
} >"$WORK/workers.properties"
MEMBERS=()
for ((k = 1; k <= NODES; k++)); do
    "$ROOT/scripts/tomcat-node.sh" start "$WORK/tomcat$k" --route "node$k" >/dev/null
    # shellcheck disable=SC1090
    source "$WORK/tomcat$k/node.env"
    TOMCAT_PIDS+=("$PID")
    log "Tomcat node$k: http $HTTP_PORT, ajp $AJP_PORT, pid $PID"
    cat >>"$WORK/workers.properties" <<EOF2
worker.node$k.type=ajp13
worker.node$k.host=127.0.0.1
worker.node$k.port=$AJP_PORT
worker.node$k.route=node$k
worker.node$k.socket_keepalive=true
EOF2
    MEMBERS+=("node$k")
done
cat >>"$WORK/workers.properties" <<EOF2
worker.lb.type=lb
worker.lb.balance_workers=$(IFS=,; echo "${MEMBERS[*]}")
worker.lb.sticky_session=true
EOF2

# --- httpd + mod_jk -----------------------------------------------------------------------
start_modjk() {
    local dir=$WORK/httpd port user=""
    port=$(free_port)
    mkdir -p "$dir"/{run,logs,htdocs}
    chmod -R 755 "$dir"
    if [[ $EUID -eq 0 ]]; then user=$'User www-data\nGroup www-data'; fi
    cat >"$dir/httpd.conf" <<EOF2
# benches/compare.sh: private httpd + mod_jk
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/run/httpd.pid
DefaultRuntimeDir $dir/run
Mutex file:$dir/run default
ErrorLog $dir/logs/error.log
LogLevel warn
$user
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule jk_module $MODS/mod_jk.so
# Debian's event MPM sizing, written out.
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
DocumentRoot "$dir/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
# No access log (benchmark).
JkWorkersFile $WORK/workers.properties
JkShmFile $dir/run/jk.shm
JkLogFile $dir/logs/mod_jk.log
JkLogLevel error
JkMount /app lb
JkMount /app/* lb
EOF2
    /usr/sbin/apache2 -t -f "$dir/httpd.conf" 2>"$dir/logs/configtest.log" >/dev/null \
        || { cat "$dir/logs/configtest.log" >&2; die "httpd config test failed"; }
    (daemon /usr/sbin/apache2 -f "$dir/httpd.conf" -DFOREGROUND) </dev/null >>"$dir/logs/stdout.log" 2>&1 &
    HTTPD_PID=$!
    MODJK_URL="http://127.0.0.1:$port"
    wait_http "$MODJK_URL$URLPATH" 60 || { tail -n 20 "$dir/logs/error.log" >&2; die "httpd + mod_jk does not answer $URLPATH"; }
    log "httpd + mod_jk: $MODJK_URL, pid $HTTPD_PID, $(session_of "$HTTPD_PID")"
}

# --- jkgate -------------------------------------------------------------------------------
start_jkgate() {
    local bin=${JKGATE_BIN:-$ROOT/target/release/jkgate} port
    if [[ -z ${JKGATE_BIN:-} ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release -q) || die "cargo build --release failed"
    fi
    [[ -x $bin ]] || die "jkgate binary $bin not found (set JKGATE_BIN)"
    port=$(free_port)
    (daemon "$bin" --listen "127.0.0.1:$port" --workers-file "$WORK/workers.properties" --mount '/app/*=lb' \
        --access-log "${JKGATE_ACCESS_LOG:-off}") \
        </dev/null >>"$WORK/jkgate.log" 2>&1 &
    JKGATE_PID=$!
    JKGATE_URL="http://127.0.0.1:$port"
    wait_http "$JKGATE_URL$URLPATH" 60 || { tail -n 20 "$WORK/jkgate.log" >&2; die "jkgate does not answer $URLPATH"; }
    log "jkgate: $JKGATE_URL, pid $JKGATE_PID ($bin), $(session_of "$JKGATE_PID")"
}

# tree_ticks PID: utime+stime+cutime+cstime (clock ticks) of PID and its live descendants.
tree_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        {
            pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
            parent[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15]
        }
        END {
            member[root] = 1; grew = 1
            while (grew) { grew = 0; for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 } }
            for (p in member) if (p in ticks) total += ticks[p]
            print total + 0
        }'
}

to_ms() { # wrk duration (812.00us, 1.20ms, 2.00s) -> ms
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

declare -A RPS P50 P99 US ERR RUNS BACK
measure() { # NAME URL PID: one measured run; appends "rps p50 p99 us err" to RUNS[NAME]
    local name=$1 url=$2 pid=$3 out t0 t1 hz requests b0 b1 tpid
    t0=$(tree_ticks "$pid")
    b0=0
    for tpid in "${TOMCAT_PIDS[@]}"; do b0=$((b0 + $(tree_ticks "$tpid"))); done
    out=$(timeout -k 5 $((SECS + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency "$url")
    t1=$(tree_ticks "$pid")
    b1=0
    for tpid in "${TOMCAT_PIDS[@]}"; do b1=$((b1 + $(tree_ticks "$tpid"))); done
    echo "--- $name: wrk -t $THREADS -c $CONNS -d ${SECS}s $url" >&2
    echo "$out" >&2
    hz=$(getconf CLK_TCK)
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    ERR[$name]=$(awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $5 } END { print e + 0 }' <<<"$out")
    US[$name]=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v r="${requests:-0}" 'BEGIN { printf "%.1f", (r > 0) ? (d / hz * 1e6 / r) : 0 }')
    BACK[$name]=$(awk -v d=$((b1 - b0)) -v hz="$hz" -v r="${requests:-0}" 'BEGIN { printf "%.1f", (r > 0) ? (d / hz * 1e6 / r) : 0 }')
    RUNS[$name]+="${RPS[$name]} ${P50[$name]} ${P99[$name]} ${US[$name]} ${ERR[$name]} ${BACK[$name]}"$'\n'
}

warm_up() { # URL: an unmeasured run
    if ((WARMUP > 0)); then
        timeout -k 5 $((WARMUP + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${WARMUP}s" "$1" >/dev/null
    fi
}

if [[ $ONLY != jkgate ]]; then start_modjk; fi
if [[ $ONLY != modjk ]]; then start_jkgate; fi
# Both proxies warm up (and the JVMs with them) before anything is measured.
if [[ $ONLY != jkgate ]]; then warm_up "$MODJK_URL$URLPATH"; fi
if [[ $ONLY != modjk ]]; then warm_up "$JKGATE_URL$URLPATH"; fi
for ((round = 1; round <= ROUNDS; round++)); do
    if [[ $ONLY != jkgate ]]; then measure mod_jk "$MODJK_URL$URLPATH" "$HTTPD_PID"; fi
    if [[ $ONLY != modjk ]]; then measure jkgate "$JKGATE_URL$URLPATH" "$JKGATE_PID"; fi
done
for name in mod_jk jkgate; do # each proxy's median run by requests/s
    [[ -n ${RUNS[$name]:-} ]] || continue
    read -r RPS[$name] P50[$name] P99[$name] US[$name] ERR[$name] BACK[$name] < <(
        printf '%s' "${RUNS[$name]}" | sort -n -k1,1 | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }')
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
