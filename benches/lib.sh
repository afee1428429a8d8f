# shellcheck shell=bash
# benches/lib.sh - what benches/compare.sh and benches/loadtest.sh share. Sourced, never run.
#
# The sourcing script sets, before calling anything here:
#   ROOT     the repository            WORK     its private work directory (mktemp -d)
#   NODES    Tomcat nodes (1..9)       SESSION  "own" (each proxy in a session of its own) or
#                                               "shared" (in the script's session)
#   LOG_TAG  prefix of log lines       URLPATH  the path start_* wait for (e.g. /app/static/1k.bin)
#   SECS THREADS CONNS WARMUP          wrk settings of measure and warm_up
# and installs `trap bench_cleanup EXIT` (plus `trap 'exit 130' INT TERM`).
#
# Processes are only ever stopped by the PID recorded when they were started, and only while
# their command line still names this run's WORK directory.

MODS=/usr/lib/apache2/modules
HTTPD_PID="" JKGATE_PID="" MODJK_URL="" JKGATE_URL="" JKGATE=""
HAPROXY_PID="" HAPROXY_URL="" NGINX_PID="" NGINX_URL=""
HYPER_PID="" HYPER_URL="" ANSWER_PID="" ANSWER_URL=""
TOMCAT_PIDS=() NODE_HTTP=() NODE_AJP=()
BG_PIDS=() # helpers run in the background (samplers, wrk): stopped on exit

bg_forget() { # PID: a background helper that has ended (so that its PID is not signalled again)
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

log() { printf '[%s %s] %s\n' "${LOG_TAG:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_tools() { # TOOL...
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is missing (scripts/test installs it)"
    done
    [[ -e $MODS/mod_jk.so ]] || die "mod_jk is missing: install libapache2-mod-jk (scripts/test does)"
}

# alive PID PATTERN: PID runs and its command line contains PATTERN
alive() { [[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

stop_pid() { # PID PATTERN
    local pid=$1 pat=$2 i
    alive "$pid" "$pat" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" "$pat" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$? k pid
    for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    stop_pid "$JKGATE_PID" "$WORK/"
    stop_pid "$HTTPD_PID" "$WORK/"
    stop_pid "$HAPROXY_PID" "$WORK/"
    stop_pid "$NGINX_PID" "$WORK/"
    stop_pid "$HYPER_PID" "$WORK/"
    stop_pid "$ANSWER_PID" "$WORK/"
    for ((k = 1; k <= NODES; k++)); do node_stop "$k" 2>/dev/null || true; done
    if [[ ${KEEP:-0} == 1 || $rc != 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}

# daemon CMD...: runs CMD in a session of its own (setsid does not fork here: a background
# job of this script is never a process group leader), or in ours with SESSION=shared.
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

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # URL SECONDS
    local deadline=$((SECONDS + $2))
    until [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true) == 200 ]]; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# --- the backends -------------------------------------------------------------------------
# node_start K [tomcat-node.sh options...]: starts Tomcat node K (route nodeK) in WORK/tomcatK.
# The first start picks free ports; later starts (after node_kill, or node_stop) reuse them,
# so the proxies find the node where their workers.properties says it is.
node_start() {
    local k=$1 ports=()
    shift
    if [[ -n ${NODE_AJP[k]:-} ]]; then ports=(--http-port "${NODE_HTTP[k]}" --ajp-port "${NODE_AJP[k]}"); fi
    "$ROOT/scripts/tomcat-node.sh" start "$WORK/tomcat$k" --route "node$k" "${ports[@]}" "$@" >/dev/null
    # shellcheck disable=SC1090
    source "$WORK/tomcat$k/node.env"
    TOMCAT_PIDS[k - 1]=$PID
    NODE_HTTP[k]=$HTTP_PORT
    NODE_AJP[k]=$AJP_PORT
    log "Tomcat node$k: http $HTTP_PORT, ajp $AJP_PORT, pid $PID${*:+ ($*)}"
}

node_stop() { if [[ -d $WORK/tomcat$1 ]]; then "$ROOT/scripts/tomcat-node.sh" stop "$WORK/tomcat$1"; fi; }

node_kill() { # K: kill -9 of node K's JVM; returns once its AJP port refuses connections
    local k=$1 pid=${TOMCAT_PIDS[$1 - 1]} i
    alive "$pid" "$WORK/tomcat$k/base" || die "node$k (pid $pid) is not running"
    kill -KILL "$pid"
    for ((i = 0; i < 100; i++)); do port_open "${NODE_AJP[k]}" || return 0; sleep 0.05; done
    die "node$k still accepts AJP connections 5 s after kill -9"
}

# write_workers FILE [LINE...]: an lb worker over nodes 1..NODES (sticky sessions), each
# member ajp13 on the node's AJP port; each LINE (e.g. worker.node1.max_packet_size=65536,
# or a %MEMBER% template line, expanded once per member) is appended.
write_workers() {
    local file=$1 k line members=()
    shift
    {
        echo "# benches: $NODES Tomcat node(s) behind an lb worker"
        echo "worker.list=lb"
        for ((k = 1; k <= NODES; k++)); do
            cat <<EOF2
worker.node$k.type=ajp13
worker.node$k.host=127.0.0.1
worker.node$k.port=${NODE_AJP[k]}
worker.node$k.route=node$k
worker.node$k.socket_keepalive=true
EOF2
            for line in "$@"; do
                if [[ $line == *%MEMBER%* ]]; then echo "${line//%MEMBER%/node$k}"; fi
            done
            members+=("node$k")
        done
        cat <<EOF2
worker.lb.type=lb
worker.lb.balance_workers=$(IFS=,; echo "${members[*]}")
worker.lb.sticky_session=true
EOF2
        for line in "$@"; do
            if [[ $line != *%MEMBER%* ]]; then echo "$line"; fi
        done
    } >"$file"
}

# --- httpd + mod_jk -----------------------------------------------------------------------
start_modjk() { # [WORKERS_FILE]: sets HTTPD_PID, MODJK_URL
    local workers=${1:-$WORK/workers.properties} dir=$WORK/httpd port user=""
    port=$(free_port)
    mkdir -p "$dir"/{run,logs,htdocs}
    chmod -R 755 "$dir"
    rm -f "$dir/run/"* 2>/dev/null || true
    if [[ $EUID -eq 0 ]]; then user=$'User www-data\nGroup www-data'; fi
    cat >"$dir/httpd.conf" <<EOF2
# benches: private httpd + mod_jk
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
JkWorkersFile $workers
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

stop_modjk() { stop_pid "$HTTPD_PID" "$WORK/"; HTTPD_PID=""; }

# --- HAProxy and nginx over HTTP (the peers operators move to) ----------------------------
# As their users configure them for Tomcat: HTTP to each node's HTTP connector, 2 threads or
# workers (one per core here), upstream keep-alive, no access log; sticky by the session:
# HAProxy with a stick table on JSESSIONID learned from responses, nginx with a map from the
# session id's jvmRoute suffix (.nodeK) to a one-node upstream.
start_haproxy() { # sets HAPROXY_PID, HAPROXY_URL
    local port k cfg=$WORK/haproxy.cfg
    port=$(free_port)
    {
        printf 'global\n    maxconn 4096\n    nbthread 2\n'
        printf 'defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    option http-keep-alive\n'
        printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend tomcats\n' "$port"
        printf 'backend tomcats\n    balance roundrobin\n    http-reuse always\n'
        printf '    stick-table type string len 64 size 200k expire 30m\n'
        printf '    stick on req.cook(JSESSIONID)\n    stick store-response res.cook(JSESSIONID)\n'
        for ((k = 1; k <= NODES; k++)); do printf '    server node%s 127.0.0.1:%s\n' "$k" "${NODE_HTTP[k]}"; done
    } >"$cfg"
    (daemon /usr/sbin/haproxy -db -f "$cfg") </dev/null >>"$WORK/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    HAPROXY_URL="http://127.0.0.1:$port"
    wait_http "$HAPROXY_URL$URLPATH" 30 || { tail -n 20 "$WORK/haproxy.log" >&2; die "haproxy does not answer $URLPATH"; }
    log "haproxy: $HAPROXY_URL, pid $HAPROXY_PID ($(/usr/sbin/haproxy -v | head -1))"
}
stop_haproxy() { stop_pid "$HAPROXY_PID" "$WORK/"; HAPROXY_PID=""; }

start_nginx() { # sets NGINX_PID, NGINX_URL
    local port k conf=$WORK/nginx/nginx.conf
    port=$(free_port)
    mkdir -p "$WORK/nginx"
    {
        printf 'worker_processes 2;\npid %s/nginx/nginx.pid;\nerror_log %s/nginx/error.log;\n' "$WORK" "$WORK"
        printf 'events { worker_connections 4096; }\nhttp {\n    access_log off;\n'
        printf '    client_body_temp_path %s/nginx/body; proxy_temp_path %s/nginx/proxy;\n' "$WORK" "$WORK"
        printf '    map $cookie_JSESSIONID $pool {'
        for ((k = 1; k <= NODES; k++)); do printf ' ~\\.node%s$ node%s;' "$k" "$k"; done
        printf ' default all; }\n    upstream all {'
        for ((k = 1; k <= NODES; k++)); do printf ' server 127.0.0.1:%s;' "${NODE_HTTP[k]}"; done
        printf ' keepalive 64; }\n'
        for ((k = 1; k <= NODES; k++)); do
            printf '    upstream node%s { server 127.0.0.1:%s; keepalive 32; }\n' "$k" "${NODE_HTTP[k]}"
        done
        printf '    server {\n        listen 127.0.0.1:%s;\n' "$port"
        printf '        location / { proxy_pass http://$pool; proxy_http_version 1.1; proxy_set_header Connection ""; }\n    }\n}\n'
    } >"$conf"
    (daemon /usr/sbin/nginx -c "$conf" -p "$WORK/nginx" -g 'daemon off;') </dev/null >>"$WORK/nginx.log" 2>&1 &
    NGINX_PID=$!
    NGINX_URL="http://127.0.0.1:$port"
    wait_http "$NGINX_URL$URLPATH" 30 || { tail -n 20 "$WORK/nginx.log" "$WORK/nginx/error.log" >&2; die "nginx does not answer $URLPATH"; }
    log "nginx: $NGINX_URL, pid $NGINX_PID ($(/usr/sbin/nginx -v 2>&1))"
}
stop_nginx() { stop_pid "$NGINX_PID" "$WORK/"; NGINX_PID=""; }

# --- jkgate -------------------------------------------------------------------------------
build_jkgate() { # sets JKGATE; `cargo build --release` unless JKGATE_BIN is set
    JKGATE=${JKGATE_BIN:-$ROOT/target/release/jkgate}
    if [[ -z ${JKGATE_BIN:-} ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release -q) || die "cargo build --release failed"
    fi
    [[ -x $JKGATE ]] || die "jkgate binary $JKGATE not found (set JKGATE_BIN)"
}

start_jkgate() { # [WORKERS_FILE [jkgate options...]]: sets JKGATE_PID, JKGATE_URL
    local workers=${1:-$WORK/workers.properties} port
    shift || true
    [[ -n $JKGATE ]] || build_jkgate
    port=$(free_port)
    (daemon "$JKGATE" --listen "127.0.0.1:$port" --workers-file "$workers" --mount '/app/*=lb' \
        --access-log "${JKGATE_ACCESS_LOG:-off}" "$@") \
        </dev/null >>"$WORK/jkgate.log" 2>&1 &
    JKGATE_PID=$!
    JKGATE_URL="http://127.0.0.1:$port"
    wait_http "$JKGATE_URL$URLPATH" 60 || { tail -n 20 "$WORK/jkgate.log" >&2; die "jkgate does not answer $URLPATH"; }
    log "jkgate: $JKGATE_URL, pid $JKGATE_PID ($JKGATE), $(session_of "$JKGATE_PID")"
}

stop_jkgate() { stop_pid "$JKGATE_PID" "$WORK/"; JKGATE_PID=""; }

# --- the stack's floor (examples/hyper_floor.rs) -------------------------------------------
# hyper: the smallest HTTP proxy hyper + tokio make (hyper's server, hyper-util's pooled
# client, no mapping or limits) in front of the nodes' HTTP connectors, in turn and sticky by
# the session id's .nodeK suffix (as nginx's map here); answer:
# hyper's server alone, answering node 1's static files from memory (no upstream). Both with
# jkgate's own hyper settings, run as a copy in WORK so that they are stopped by PID.
start_hyper_floor() { # sets HYPER_PID HYPER_URL ANSWER_PID ANSWER_URL
    local port k upstreams=()
    log "cargo build --release --example hyper_floor"
    (cd "$ROOT" && cargo build --release -q --example hyper_floor) || die "cargo build --example hyper_floor failed"
    cp "$ROOT/target/release/examples/hyper_floor" "$WORK/hyper_floor"
    for ((k = 1; k <= NODES; k++)); do upstreams+=("127.0.0.1:${NODE_HTTP[k]}"); done
    port=$(free_port)
    (daemon "$WORK/hyper_floor" proxy "127.0.0.1:$port" "$(IFS=,; echo "${upstreams[*]}")") </dev/null >>"$WORK/hyper_floor.log" 2>&1 &
    HYPER_PID=$! HYPER_URL="http://127.0.0.1:$port"
    port=$(free_port)
    (daemon "$WORK/hyper_floor" answer "127.0.0.1:$port" "$WORK/tomcat1/webapp/static") </dev/null >>"$WORK/hyper_floor.log" 2>&1 &
    ANSWER_PID=$! ANSWER_URL="http://127.0.0.1:$port"
    wait_http "$HYPER_URL$URLPATH" 30 || { tail -n 20 "$WORK/hyper_floor.log" >&2; die "hyper_floor proxy does not answer $URLPATH"; }
    wait_http "$ANSWER_URL$URLPATH" 30 || { tail -n 20 "$WORK/hyper_floor.log" >&2; die "hyper_floor answer does not answer $URLPATH"; }
    log "hyper_floor: proxy $HYPER_URL (pid $HYPER_PID), answer $ANSWER_URL (pid $ANSWER_PID)"
}

# --- measuring ----------------------------------------------------------------------------
# tree_ticks_split PID: "USER SYSTEM" clock ticks (utime+cutime, stime+cstime) of PID and its
# live descendants: user space against the kernel's work on its behalf (system calls, and on
# loopback the receiving side of what it sends).
tree_ticks_split() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        {
            pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
            parent[pid] = f[2]; user[pid] = f[12] + f[14]; sys[pid] = f[13] + f[15]
        }
        END {
            member[root] = 1; grew = 1
            while (grew) { grew = 0; for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 } }
            for (p in member) if (p in user) { u += user[p]; s += sys[p] }
            print u + 0, s + 0
        }'
}

# tree_ticks PID: utime+stime+cutime+cstime (clock ticks) of PID and its live descendants.
tree_ticks() { tree_ticks_split "$1" | awk '{ print $1 + $2 }'; }

# tree_rss_kib PID: resident set size (KiB) of PID plus its live descendants, summed (pages
# shared between httpd's children count once per child, as ps shows them).
tree_rss_kib() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" -v page="$(getconf PAGESIZE)" '
        {
            pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
            parent[pid] = f[2]; rss[pid] = f[22]
        }
        END {
            member[root] = 1; grew = 1
            while (grew) { grew = 0; for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 } }
            for (p in member) if (p in rss) total += rss[p]
            print int(total * page / 1024)
        }'
}

# rss_sampler_start PID FILE: samples tree_rss_kib PID every 0.25 s in the background and keeps
# the peak in FILE; rss_sampler_stop prints it (KiB).
RSS_SAMPLER=""
rss_sampler_start() {
    local pid=$1 file=$2
    echo 0 >"$file"
    (
        peak=0
        while :; do
            now=$(tree_rss_kib "$pid")
            if ((now > peak)); then peak=$now; echo "$peak" >"$file"; fi
            sleep 0.25
        done
    ) &
    RSS_SAMPLER=$!
    BG_PIDS+=("$RSS_SAMPLER")
}
rss_sampler_stop() { # FILE
    kill -TERM "$RSS_SAMPLER" 2>/dev/null || true
    wait "$RSS_SAMPLER" 2>/dev/null || true
    bg_forget "$RSS_SAMPLER"
    RSS_SAMPLER=""
    cat "$1"
}

to_ms() { # wrk duration (812.00us, 1.20ms, 2.00s) -> ms
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

declare -A RPS P50 P99 US ERR RUNS BACK USR SYS
# measure NAME URL PID [wrk options...]: one measured wrk run (-t THREADS -c CONNS -d SECS);
# sets RPS P50 P99 US ERR BACK USR SYS [NAME] (US = USR + SYS: the proxy's CPU per request,
# in user space and in the kernel) and appends "rps p50 p99 us err tomcat-us usr sys" to
# RUNS[NAME].
measure() {
    local name=$1 url=$2 pid=$3 out u0 s0 u1 s1 hz requests b0 b1 tpid
    shift 3
    read -r u0 s0 < <(tree_ticks_split "$pid")
    b0=0
    for tpid in "${TOMCAT_PIDS[@]}"; do b0=$((b0 + $(tree_ticks "$tpid"))); done
    out=$(timeout -k 5 $((SECS + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --latency "$@" "$url")
    read -r u1 s1 < <(tree_ticks_split "$pid")
    b1=0
    for tpid in "${TOMCAT_PIDS[@]}"; do b1=$((b1 + $(tree_ticks "$tpid"))); done
    echo "--- $name: wrk -t $THREADS -c $CONNS -d ${SECS}s ${*:+$* }$url" >&2
    echo "$out" >&2
    hz=$(getconf CLK_TCK)
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    RPS[$name]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    ERR[$name]=$(awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $5 } END { print e + 0 }' <<<"$out")
    USR[$name]=$(per_request $((u1 - u0)) "$hz" "$requests")
    SYS[$name]=$(per_request $((s1 - s0)) "$hz" "$requests")
    US[$name]=$(per_request $((u1 - u0 + s1 - s0)) "$hz" "$requests")
    BACK[$name]=$(per_request $((b1 - b0)) "$hz" "$requests")
    RUNS[$name]+="${RPS[$name]} ${P50[$name]} ${P99[$name]} ${US[$name]} ${ERR[$name]} ${BACK[$name]} ${USR[$name]} ${SYS[$name]}"$'\n'
}

per_request() { # TICKS HZ REQUESTS: microseconds per request, 1 decimal (0 without requests)
    awk -v d="$1" -v hz="$2" -v r="${3:-0}" 'BEGIN { printf "%.1f", (r > 0) ? (d / hz * 1e6 / r) : 0 }'
}

# median_run NAME: sets RPS P50 P99 US ERR BACK USR SYS [NAME] from the median run by requests/s
median_run() {
    local name=$1
    [[ -n ${RUNS[$name]:-} ]] || return 0
    read -r RPS[$name] P50[$name] P99[$name] US[$name] ERR[$name] BACK[$name] USR[$name] SYS[$name] < <(
        printf '%s' "${RUNS[$name]}" | sort -n -k1,1 | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }')
}

# session_cookie URL FILES STRICT: creates a session through URL (curl, cookie jar FILES.jar),
# checks that it sticks (the same session again, its counter at 2) and prints the Cookie header
# that carries it. A session that does not stick stops the script with STRICT=strict, else it is
# logged as a warning. Call as H=$(session_cookie ...) || exit 1.
session_cookie() {
    local url=$1 files=$2 strict=$3 id
    curl -s -m 10 -c "$files.jar" -o "$files.body" "$url" || die "$url failed"
    id=$(awk '$6 == "JSESSIONID" { print $7 }' "$files.jar")
    [[ -n $id ]] || die "no JSESSIONID from $url"
    curl -s -m 10 -H "Cookie: JSESSIONID=$id" -o "$files.body" "$url"
    if [[ $(sed -n 's/^counter=//p' "$files.body") != 2 || $(sed -n 's/^sessionId=//p' "$files.body") != "$id" ]]; then
        [[ $strict == strict ]] && die "$url: the session $id did not stick: $(tr '\n' ' ' <"$files.body")"
        log "WARNING: $url: the session $id did not stick: $(tr '\n' ' ' <"$files.body")"
    fi
    echo "Cookie: JSESSIONID=$id"
}

warm_up() { # URL [wrk options...]: an unmeasured run
    local url=$1
    shift
    if ((WARMUP > 0)); then
        timeout -k 5 $((WARMUP + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${WARMUP}s" "$@" "$url" >/dev/null
    fi
}

# round_ratio_range A B FIELD: the lowest and highest ratio A/B of one field (1 req/s, 2 p50,
# 3 p99, 4 CPU per request, 6 Tomcat CPU, 7 user, 8 system) between runs of the same round
# (RUNS[A] and RUNS[B] hold one line per round, in order): how far one round's ratio is from
# another's, so a median ratio can be told from the run-to-run spread. "-" with fewer than two
# rounds.
round_ratio_range() {
    paste -d ' ' <(printf '%s' "${RUNS[$1]:-}") <(printf '%s' "${RUNS[$2]:-}") |
        awk -v f="$3" '
            NF >= 16 && $(f + 8) + 0 != 0 { r = $f / $(f + 8); if (n == 0 || r < lo) lo = r; if (n == 0 || r > hi) hi = r; n++ }
            END { if (n < 2) print "-"; else printf "%.2f-%.2f\n", lo, hi }'
}

ratio() { # A B: A/B with 2 decimals, n/a when B is 0 or either is missing
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}
