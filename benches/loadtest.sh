#!/usr/bin/env bash
# benches/loadtest.sh - jkgate and Apache httpd + mod_jk under every load of issue 10, in one run,
# in front of the same Tomcat nodes, with the ratio jkgate/mod_jk of each figure.
#
# Usage: benches/loadtest.sh [--quick] [--only SECTION[,SECTION...]] [--nodes N] [--shared-session]
#   --quick   short runs, a smoke test of the script (about 2 minutes); the figures mean little
#   (default) the real figures, sized for 10-15 minutes on a 2-core machine
#   --only    run these sections only: 1|slow 2|kill 3|sticky 4|throughput 5|packet 6|h2
#   --nodes   Tomcat nodes behind the lb worker (default 3, at least 2)
#   --shared-session  both proxies in this script's session instead of each in its own
#             (benches/compare.sh --help explains why this matters)
# Environment: JKGATE_BIN (default target/release/jkgate, built with `cargo build --release`
# when JKGATE_BIN is unset), KEEP=1 keeps the work directory (wrk/h2load output, logs),
# JKGATE_ACCESS_LOG (default off, as mod_jk runs with no request log).
#
# Sections (run in the order 1 4 6 2 3 5: those that kill or restart Tomcat nodes come last;
# each starts both proxies afresh, so no member is left in error state by an earlier one):
#  1 slow     GET /app/echo?sleep=300 (Tomcat sleeps 300 ms) with wrk -c 100, 300 and 1000
#             (--timeout 10s, so slow answers count as latency, not as errors): requests/s,
#             non-2xx, socket errors (connect/read/write/timeout), p50/p99, and the proxy's peak
#             RSS (its process tree summed, sampled from /proc every 0.25 s during the run).
#  2 kill     GET of the 1 KiB file with wrk -c 32 for N s (30; --quick 6); kill -9 of node2 at
#             N/3, node2 restarted on its ports at 2N/3 (scripts/tomcat-node.sh); once per
#             proxy, the node restarted in between: requests/s, non-2xx, socket errors, p99.
#  3 sticky   a session created on node X through the proxy (curl, cookie jar), kill -9 of X,
#             then at once one request with that cookie, timed (curl %{time_total}); K times per
#             proxy (5; --quick 1), X restarted and the proxy started afresh each time:
#             min/median time, status codes, which node answered.
#  4 throughput  1 KiB file, /app/session with one session cookie (sticky, one node), 100 KiB
#             file, as benches/compare.sh measures them: wrk -c 32, median of 3 interleaved
#             10 s runs (--quick: one 2 s run): requests/s, p50/p99, the proxy's CPU time per
#             request, the Tomcat JVMs' CPU time per request.
#  5 packet   the 100 KiB file again with max_packet_size=65536 on every member and the Tomcat
#             AJP connectors at packetSize="65536" (the nodes are restarted for it).
#  6 h2       HTTP/2 through jkgate (h2c, prior knowledge): h2load -c 4 -m 32 on the 1 KiB file:
#             requests/s, mean/max request time, jkgate's CPU per request. httpd here has no
#             mod_http2, so there is no mod_jk figure to compare with: jkgate alone.
# Each section prints its table to standard output as it ends, and a summary of every ratio
# follows at the end; the raw wrk/h2load output goes to standard error.
# Everything listens on 127.0.0.1, every load is bounded by `timeout`, and every process
# started here is stopped by its recorded PID on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0 ONLY="" NODES=3 SESSION=own
while (($#)); do
    case $1 in
        --quick) QUICK=1 ;;
        --only) ONLY=$2; shift ;;
        --nodes) NODES=$2; shift ;;
        --shared-session) SESSION=shared ;;
        -h | --help) sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 2 && NODES <= 9)) || { echo "--nodes must be 2..9" >&2; exit 2; }

declare -A RUN_SECTION=()
if [[ -z $ONLY ]]; then
    for s in 1 2 3 4 5 6; do RUN_SECTION[$s]=1; done
else
    IFS=, read -ra wanted <<<"$ONLY"
    for s in "${wanted[@]}"; do
        case $s in
            1 | slow) RUN_SECTION[1]=1 ;;
            2 | kill) RUN_SECTION[2]=1 ;;
            3 | sticky) RUN_SECTION[3]=1 ;;
            4 | throughput) RUN_SECTION[4]=1 ;;
            5 | packet) RUN_SECTION[5]=1 ;;
            6 | h2) RUN_SECTION[6]=1 ;;
            *) echo "unknown section $s (1..6, slow kill sticky throughput packet h2)" >&2; exit 2 ;;
        esac
    done
fi

# Durations. THREADS/CONNS/SECS/WARMUP are what lib.sh's measure and warm_up use (section 4, 5).
THREADS=2 CONNS=32
if ((QUICK)); then
    SECS=2 ROUNDS=1 WARMUP=1 SLOW_SECS=3 KILL_SECS=6 STICKY_K=1 H2_SECS=2
else
    SECS=10 ROUNDS=3 WARMUP=5 SLOW_SECS=10 KILL_SECS=30 STICKY_K=5 H2_SECS=10
fi
SLOW_MS=300 SLOW_CONNS=(100 300 1000)
URLPATH=/app/static/1k.bin

LOG_TAG=loadtest
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
require_tools wrk curl python3 timeout /usr/sbin/apache2
if [[ -n ${RUN_SECTION[6]:-} ]]; then require_tools h2load; fi

# wrk -c 1000 needs more than the usual 1024 descriptors; the proxies inherit the limit.
if ! ulimit -n 65536 2>/dev/null; then ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; fi
if [[ -n ${RUN_SECTION[1]:-} ]] && (($(ulimit -n) < 2 * ${SLOW_CONNS[-1]} + 64)); then
    die "open files limit $(ulimit -n) is too low for wrk -c ${SLOW_CONNS[-1]} (ulimit -Hn is $(ulimit -Hn))"
fi

WORK=$(mktemp -d /tmp/jkgate-loadtest.XXXXXX)
chmod 755 "$WORK"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
HZ=$(getconf CLK_TCK)
SUMMARY=()

# --- helpers ------------------------------------------------------------------------------
# nodes_start [tomcat-node.sh options...]: starts (or restarts) every node, in parallel.
nodes_start() {
    local k pids=() rc=0
    for ((k = 1; k <= NODES; k++)); do
        node_stop "$k" 2>/dev/null || true
        (node_start "$k" "$@") 2>>"$WORK/nodes.log" &
        pids+=($!)
    done
    for k in "${!pids[@]}"; do wait "${pids[k]}" || rc=1; done
    ((rc == 0)) || { tail -n 30 "$WORK/nodes.log" >&2; die "a Tomcat node did not start"; }
    for ((k = 1; k <= NODES; k++)); do node_adopt "$k"; done
}

# node_adopt K: takes over the ports and PID that a node_start in a subshell wrote to node.env
node_adopt() {
    local k=$1
    # shellcheck disable=SC1090
    source "$WORK/tomcat$k/node.env"
    TOMCAT_PIDS[k - 1]=$PID NODE_HTTP[k]=$HTTP_PORT NODE_AJP[k]=$AJP_PORT
    log "Tomcat node$k: http $HTTP_PORT, ajp $AJP_PORT, pid $PID${PACKET_OPT:+ (packetSize $PACKET_OPT)}"
}

PACKET_OPT="" # the packetSize the nodes run with ("" = Tomcat's default)
node_restart_bg() { # K: restarts node K on its ports in the background; NODE_BG is its PID
    local k=$1 opts=(--http-port "${NODE_HTTP[$1]}" --ajp-port "${NODE_AJP[$1]}")
    if [[ -n $PACKET_OPT ]]; then opts+=(--packet-size "$PACKET_OPT"); fi
    "$ROOT/scripts/tomcat-node.sh" start "$WORK/tomcat$k" --route "node$k" "${opts[@]}" \
        >/dev/null 2>>"$WORK/nodes.log" &
    NODE_BG=$!
}
node_restart_wait() { # K
    wait "$NODE_BG" || { tail -n 30 "$WORK/nodes.log" >&2; die "node$1 did not restart"; }
    node_adopt "$1"
}

WORKERS=$WORK/workers.properties
# fresh_proxies [mod_jk] [jkgate]: (re)starts the named proxies (default both) with WORKERS,
# so that every member starts in state OK
fresh_proxies() {
    local which=("$@") p
    ((${#which[@]})) || which=(mod_jk jkgate)
    for p in "${which[@]}"; do
        case $p in
            mod_jk) stop_modjk; start_modjk "$WORKERS" ;;
            jkgate) stop_jkgate; start_jkgate "$WORKERS" ;;
        esac
    done
}
url_of() { if [[ $1 == mod_jk ]]; then echo "$MODJK_URL"; else echo "$JKGATE_URL"; fi; }
pid_of() { if [[ $1 == mod_jk ]]; then echo "$HTTPD_PID"; else echo "$JKGATE_PID"; fi; }

# wrk_stats OUT: "rps p50 p99 non2xx connect read write timeout requests" from wrk --latency
wrk_stats() {
    local p50 p99
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$1")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$1")")
    awk -v p50="$p50" -v p99="$p99" '
        / requests in / { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { gsub(",", ""); c = $4; r = $6; w = $8; t = $10 }
        /Non-2xx/ { n = $5 }
        END { printf "%s %s %s %d %d %d %d %d %d\n", (rps == "" ? 0 : rps), p50, p99, n, c, r, w, t, req }' <<<"$1"
}

run_wrk() { # SECS WRK-ARGS...: wrk bounded by timeout; prints its output (also to stderr)
    local secs=$1 out
    shift
    out=$(timeout -k 5 $((secs + 40)) wrk -d "${secs}s" --latency "$@") || true
    echo "--- wrk -d ${secs}s $*" >&2
    echo "$out" >&2
    printf '%s\n' "$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

summary() { SUMMARY+=("$(printf '%-44s %12s %12s %8s' "$1" "$2" "$3" "$(ratio "$2" "$3")")"); }

# --- the backends -------------------------------------------------------------------------
log "starting $NODES Tomcat node(s)"
nodes_start
write_workers "$WORKERS"
build_jkgate
if ((QUICK)); then MODE="--quick (smoke test: figures are not results)"; else MODE="default"; fi
echo "benches/loadtest.sh $MODE: $NODES Tomcat node(s), $(nproc) cores, proxies in $SESSION session(s), $("$JKGATE" --version 2>/dev/null | head -1 || echo 'jkgate ?'), $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p') + mod_jk"

# --- 1: slow page -------------------------------------------------------------------------
section_slow() {
    local c p out stats rss file url
    declare -A S=()
    fresh_proxies
    log "section 1: slow page (${SLOW_MS} ms in Tomcat), wrk -c ${SLOW_CONNS[*]}, ${SLOW_SECS} s each"
    url="/app/echo?sleep=$SLOW_MS"
    for p in mod_jk jkgate; do # warm-up: JIT of the echo servlet, proxy connection pools
        run_wrk "$WARMUP" -t "$THREADS" -c 100 --timeout 10s "$(url_of "$p")$url" >/dev/null
    done
    for c in "${SLOW_CONNS[@]}"; do
        for p in mod_jk jkgate; do
            file=$WORK/rss.$p.$c
            rss_sampler_start "$(pid_of "$p")" "$file"
            out=$(run_wrk "$SLOW_SECS" -t "$THREADS" -c "$c" --timeout 10s "$(url_of "$p")$url")
            rss=$(rss_sampler_stop "$file")
            stats=$(wrk_stats "$out")
            S[$p.$c]="$stats $rss"
            sleep 1 # let the closing connections drain before the next run
        done
    done
    echo
    echo "== 1. slow page: GET $url, wrk -t $THREADS -c N -d ${SLOW_SECS}s --timeout 10s"
    printf '%6s %-7s %10s %8s %22s %9s %9s %13s\n' conns proxy 'req/s' non-2xx 'sock err c/r/w/t' 'p50 ms' 'p99 ms' 'peak RSS MiB'
    for c in "${SLOW_CONNS[@]}"; do
        for p in mod_jk jkgate; do
            read -r rps p50 p99 n cc rr ww tt _req rss <<<"${S[$p.$c]}"
            printf '%6s %-7s %10.1f %8s %22s %9.1f %9.1f %13.1f\n' "$c" "$p" "$rps" "$n" "$cc/$rr/$ww/$tt" "$p50" "$p99" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
        done
        read -r a_rps a_p50 a_p99 a_n a_c a_r a_w a_t _ a_rss <<<"${S[jkgate.$c]}"
        read -r b_rps b_p50 b_p99 b_n b_c b_r b_w b_t _ b_rss <<<"${S[mod_jk.$c]}"
        printf '%6s %-7s %10s %8s %22s %9s %9s %13s\n' "$c" ratio "$(ratio "$a_rps" "$b_rps")" "" "" "$(ratio "$a_p50" "$b_p50")" "$(ratio "$a_p99" "$b_p99")" "$(ratio "$a_rss" "$b_rss")"
        summary "1 slow -c $c req/s" "$a_rps" "$b_rps"
        summary "1 slow -c $c p50 ms" "$a_p50" "$b_p50"
        summary "1 slow -c $c p99 ms" "$a_p99" "$b_p99"
        summary "1 slow -c $c peak RSS KiB" "$a_rss" "$b_rss"
        summary "1 slow -c $c non-2xx + socket errors" "$((a_n + a_c + a_r + a_w + a_t))" "$((b_n + b_c + b_r + b_w + b_t))"
    done
}

# --- 2: kill -9 of a member under load -----------------------------------------------------
section_kill() {
    local p out stats victim=2 t_kill t_back
    declare -A S=()
    t_kill=$((KILL_SECS / 3)) t_back=$((2 * KILL_SECS / 3))
    log "section 2: kill -9 of node$victim at ${t_kill} s of a ${KILL_SECS} s run, restart at ${t_back} s"
    for p in mod_jk jkgate; do
        fresh_proxies "$p"
        warm_up "$(url_of "$p")$URLPATH"
        timeout -k 5 $((KILL_SECS + 40)) wrk -t "$THREADS" -c "$CONNS" -d "${KILL_SECS}s" --latency \
            "$(url_of "$p")$URLPATH" >"$WORK/kill.$p.out" 2>&1 &
        local wrk_pid=$!
        BG_PIDS+=("$wrk_pid")
        sleep "$t_kill"
        node_kill "$victim"
        log "$p: node$victim killed (kill -9)"
        sleep $((t_back - t_kill))
        node_restart_bg "$victim"
        log "$p: node$victim restarting"
        wait "$wrk_pid" || true
        bg_forget "$wrk_pid"
        node_restart_wait "$victim"
        out=$(cat "$WORK/kill.$p.out")
        echo "--- $p: kill -9 run" >&2
        echo "$out" >&2
        S[$p]=$(wrk_stats "$out")
    done
    echo
    echo "== 2. kill -9 of node$victim under load: GET $URLPATH, wrk -t $THREADS -c $CONNS -d ${KILL_SECS}s, kill at ${t_kill} s, restart at ${t_back} s"
    printf '%-7s %10s %10s %8s %22s %9s\n' proxy requests 'req/s' non-2xx 'sock err c/r/w/t' 'p99 ms'
    for p in mod_jk jkgate; do
        read -r rps _p50 p99 n cc rr ww tt req <<<"${S[$p]}"
        printf '%-7s %10s %10.1f %8s %22s %9.1f\n' "$p" "$req" "$rps" "$n" "$cc/$rr/$ww/$tt" "$p99"
    done
    read -r a_rps _ a_p99 a_n a_c a_r a_w a_t _ <<<"${S[jkgate]}"
    read -r b_rps _ b_p99 b_n b_c b_r b_w b_t _ <<<"${S[mod_jk]}"
    printf '%-7s %10s %10s %8s %22s %9s\n' ratio "" "$(ratio "$a_rps" "$b_rps")" "" "" "$(ratio "$a_p99" "$b_p99")"
    summary "2 kill -9 req/s" "$a_rps" "$b_rps"
    summary "2 kill -9 non-2xx" "$a_n" "$b_n"
    summary "2 kill -9 socket errors" "$((a_c + a_r + a_w + a_t))" "$((b_c + b_r + b_w + b_t))"
}

# --- 3: sticky request right after kill -9 of its owner -------------------------------------
section_sticky() {
    local i p jar body route x res code secs node counter
    declare -A T=() CODES=() NODESEEN=() NEWSESS=()
    log "section 3: sticky request right after kill -9 of its node, $STICKY_K time(s) per proxy"
    for ((i = 1; i <= STICKY_K; i++)); do
        for p in mod_jk jkgate; do
            fresh_proxies "$p"
            jar=$WORK/jar.$p.$i body=$WORK/body.$p.$i
            curl -s -m 10 -c "$jar" -o "$body" "$(url_of "$p")/app/session" || die "$p: /app/session failed"
            route=$(sed -n 's/^sessionRoute=//p' "$body")
            [[ $route =~ ^node([0-9])$ ]] || die "$p: no session route in $(tr '\n' ' ' <"$body")"
            x=${BASH_REMATCH[1]}
            # a second request by cookie: sticks to node X (and leaves a pooled connection to it)
            curl -s -m 10 -b "$jar" -o "$body" "$(url_of "$p")/app/session"
            [[ $(sed -n 's/^node=//p' "$body") == "node$x" ]] || log "WARNING: $p: the session of node$x was not sticky"
            node_kill "$x"
            res=$(curl -s -m 60 -b "$jar" -o "$body" -w '%{http_code} %{time_total}' "$(url_of "$p")/app/session" || true)
            read -r code secs <<<"$res"
            node=$(sed -n 's/^node=//p' "$body" 2>/dev/null || true)
            counter=$(sed -n 's/^counter=//p' "$body" 2>/dev/null || true)
            log "$p run $i: session on node$x killed; next request: $code in ${secs} s from ${node:-?} (counter ${counter:-?})"
            T[$p]+="$(awk -v s="$secs" 'BEGIN { printf "%.3f", s * 1000 }')"$'\n'
            CODES[$p]+="$code "
            NODESEEN[$p]+="${node:-none} "
            if [[ $counter == 1 ]]; then NEWSESS[$p]=$((${NEWSESS[$p]:-0} + 1)); fi
            node_restart_bg "$x"
            node_restart_wait "$x"
        done
    done
    echo
    echo "== 3. sticky request right after kill -9 of its node (curl time_total, $STICKY_K run(s) per proxy)"
    printf '%-7s %10s %10s %10s %-24s %s\n' proxy 'min ms' 'median ms' 'max ms' 'status codes' 'answered by (new session)'
    for p in mod_jk jkgate; do
        printf '%-7s %10s %10s %10s %-24s %s (%s/%s)\n' "$p" \
            "$(printf '%s' "${T[$p]}" | sort -n | head -1)" "$(printf '%s' "${T[$p]}" | median)" \
            "$(printf '%s' "${T[$p]}" | sort -n | tail -1)" "${CODES[$p]}" "${NODESEEN[$p]}" "${NEWSESS[$p]:-0}" "$STICKY_K"
    done
    local a b
    a=$(printf '%s' "${T[jkgate]}" | median) b=$(printf '%s' "${T[mod_jk]}" | median)
    printf '%-7s %10s %10s\n' ratio "$(ratio "$(printf '%s' "${T[jkgate]}" | sort -n | head -1)" "$(printf '%s' "${T[mod_jk]}" | sort -n | head -1)")" "$(ratio "$a" "$b")"
    summary "3 sticky after kill -9 median ms" "$a" "$b"
    summary "3 sticky after kill -9 non-200 answers" "$(tr ' ' '\n' <<<"${CODES[jkgate]}" | grep -cv '^200$\|^$' || true)" \
        "$(tr ' ' '\n' <<<"${CODES[mod_jk]}" | grep -cv '^200$\|^$' || true)"
}

# --- 4 and 5: throughput, as benches/compare.sh ---------------------------------------------
# throughput SECTION LABEL PATH [cookie]: warm-up, then ROUNDS interleaved measured runs
throughput() {
    local sec=$1 label=$2 path=$3 cookie=${4:-} p round hdr=()
    declare -A H=()
    for p in mod_jk jkgate; do
        H[$p]=""
        if [[ -n $cookie ]]; then # one session per proxy, created through it
            H[$p]=$(session_cookie "$(url_of "$p")$path" "$WORK/session.$sec.$p" warn) || exit 1
        fi
    done
    for p in mod_jk jkgate; do
        hdr=()
        if [[ -n ${H[$p]} ]]; then hdr=(-H "${H[$p]}"); fi
        warm_up "$(url_of "$p")$path" "${hdr[@]}"
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        for p in mod_jk jkgate; do
            hdr=()
            if [[ -n ${H[$p]} ]]; then hdr=(-H "${H[$p]}"); fi
            measure "$sec:$label:$p" "$(url_of "$p")$path" "$(pid_of "$p")" "${hdr[@]}"
        done
    done
    for p in mod_jk jkgate; do median_run "$sec:$label:$p"; done
    if [[ -n $cookie ]]; then # every request counted once by the session?
        for p in mod_jk jkgate; do
            curl -s -m 10 -H "${H[$p]}" -o "$WORK/body.$sec.$p" "$(url_of "$p")$path"
            log "$p: session counter after the runs: $(sed -n 's/^counter=//p' "$WORK/body.$sec.$p"), node $(sed -n 's/^node=//p' "$WORK/body.$sec.$p")"
        done
    fi
}

print_throughput() { # SECTION LABEL...
    local sec=$1 label p a b
    shift
    printf '%-22s %-7s %10s %8s %8s %14s %15s %7s\n' path proxy 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req' 'Tomcat us/req' errors
    for label in "$@"; do
        for p in mod_jk jkgate; do
            printf '%-22s %-7s %10s %8s %8s %14s %15s %7s\n' "$label" "$p" "${RPS[$sec:$label:$p]}" "${P50[$sec:$label:$p]}" \
                "${P99[$sec:$label:$p]}" "${US[$sec:$label:$p]}" "${BACK[$sec:$label:$p]}" "${ERR[$sec:$label:$p]}"
        done
        a=$sec:$label:jkgate b=$sec:$label:mod_jk
        printf '%-22s %-7s %10s %8s %8s %14s %15s\n' "$label" ratio "$(ratio "${RPS[$a]}" "${RPS[$b]}")" \
            "$(ratio "${P50[$a]}" "${P50[$b]}")" "$(ratio "${P99[$a]}" "${P99[$b]}")" \
            "$(ratio "${US[$a]}" "${US[$b]}")" "$(ratio "${BACK[$a]}" "${BACK[$b]}")"
        summary "$sec $label req/s" "${RPS[$a]}" "${RPS[$b]}"
        summary "$sec $label p50 ms" "${P50[$a]}" "${P50[$b]}"
        summary "$sec $label proxy CPU us/request" "${US[$a]}" "${US[$b]}"
        summary "$sec $label Tomcat CPU us/request" "${BACK[$a]}" "${BACK[$b]}"
        summary "$sec $label wrk errors" "${ERR[$a]}" "${ERR[$b]}"
    done
}

runs_note() { if ((ROUNDS > 1)); then echo "median of $ROUNDS interleaved ${SECS} s runs"; else echo "one ${SECS} s run"; fi; }

section_throughput() {
    fresh_proxies
    log "section 4: 1 KiB file, session page (sticky), 100 KiB file"
    throughput 4 1k /app/static/1k.bin
    throughput 4 session /app/session cookie
    throughput 4 100k /app/static/100k.bin
    echo
    echo "== 4. throughput: wrk -t $THREADS -c $CONNS, $(runs_note) per proxy (warm-up ${WARMUP} s); session = one JSESSIONID cookie"
    print_throughput 4 1k session 100k
}

section_packet() {
    log "section 5: restarting the nodes with packetSize=65536"
    PACKET_OPT=65536
    nodes_start --packet-size 65536
    WORKERS=$WORK/workers-64k.properties
    write_workers "$WORKERS" 'worker.%MEMBER%.max_packet_size=65536'
    fresh_proxies
    throughput 5 100k-64k /app/static/100k.bin
    echo
    echo "== 5. 100 KiB file with max_packet_size=65536 and Tomcat packetSize=\"65536\": wrk -t $THREADS -c $CONNS, $(runs_note) per proxy"
    print_throughput 5 100k-64k
    if [[ -n ${RPS[4:100k:jkgate]:-} ]]; then
        echo "against section 4 (8 KiB packets, other JVM instances): req/s x$(ratio "${RPS[5:100k-64k:jkgate]}" "${RPS[4:100k:jkgate]}") jkgate," \
            "x$(ratio "${RPS[5:100k-64k:mod_jk]}" "${RPS[4:100k:mod_jk]}") mod_jk"
    fi
}

# --- 6: HTTP/2 ----------------------------------------------------------------------------
section_h2() {
    local out t0 t1 rps done_ ok failed c2 c4 c5 mean max us
    fresh_proxies jkgate
    log "section 6: HTTP/2 (h2c) through jkgate, h2load -c 4 -m 32"
    [[ $(curl -s -o /dev/null -w '%{http_version}' --http2-prior-knowledge -m 5 "$JKGATE_URL$URLPATH") == 2 ]] \
        || die "jkgate does not speak h2c (prior knowledge) on $JKGATE_URL"
    timeout -k 5 $((WARMUP + 30)) h2load -c 4 -m 32 -D "$WARMUP" "$JKGATE_URL$URLPATH" >/dev/null 2>&1 || true
    t0=$(tree_ticks "$JKGATE_PID")
    out=$(timeout -k 5 $((H2_SECS + 40)) h2load -c 4 -m 32 -D "$H2_SECS" "$JKGATE_URL$URLPATH" 2>&1) || true
    t1=$(tree_ticks "$JKGATE_PID")
    echo "--- jkgate: h2load -c 4 -m 32 -D $H2_SECS $JKGATE_URL$URLPATH" >&2
    echo "$out" >&2
    rps=$(awk '/^finished in/ { print $4 }' <<<"$out")
    read -r done_ ok failed < <(awk '/^requests:/ { print $6, $8, $10 }' <<<"$out")
    read -r c2 c4 c5 < <(awk '/^status codes:/ { print $3, $7, $9 }' <<<"$out")
    read -r mean max < <(awk '/^time for request:/ { print $6, $5 }' <<<"$out")
    us=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v r="${done_:-0}" 'BEGIN { printf "%.1f", (r > 0) ? (d / hz * 1e6 / r) : 0 }')
    echo
    echo "== 6. HTTP/2 (h2c prior knowledge) through jkgate: h2load -c 4 -m 32 -D ${H2_SECS} $URLPATH"
    echo "   jkgate alone: httpd here has no mod_http2, so mod_jk has no HTTP/2 figure to compare with"
    printf '%-7s %10s %10s %10s %8s %12s %12s %12s\n' proxy 'req/s' 'done' succeeded failed '2xx/4xx/5xx' 'mean ms' 'CPU us/req'
    printf '%-7s %10s %10s %10s %8s %12s %12s %12s\n' jkgate "${rps:-?}" "${done_:-?}" "${ok:-?}" "${failed:-?}" "${c2:-?}/${c4:-?}/${c5:-?}" \
        "$(to_ms "${mean:-0us}")" "$us"
    echo "   (max request time $(to_ms "${max:-0us}") ms)"
    SUMMARY+=("$(printf '%-44s %12s %12s %8s' "6 h2 req/s (jkgate alone)" "${rps:-?}" "-" "-")")
}

START=$SECONDS
if [[ -n ${RUN_SECTION[1]:-} ]]; then section_slow; fi
if [[ -n ${RUN_SECTION[4]:-} ]]; then section_throughput; fi
if [[ -n ${RUN_SECTION[6]:-} ]]; then section_h2; fi
if [[ -n ${RUN_SECTION[2]:-} ]]; then section_kill; fi
if [[ -n ${RUN_SECTION[3]:-} ]]; then section_sticky; fi
if [[ -n ${RUN_SECTION[5]:-} ]]; then section_packet; fi

echo
echo "== summary: jkgate/mod_jk ($MODE; $((SECONDS - START)) s of sections)"
printf '%-44s %12s %12s %8s\n' figure jkgate mod_jk ratio
printf '%s\n' "${SUMMARY[@]}"
