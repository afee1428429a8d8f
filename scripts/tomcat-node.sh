#!/usr/bin/env bash
# scripts/tomcat-node.sh - one Tomcat 10.1 node with the test webapp, for scripts and benchmarks.
#
# Usage:
#   scripts/tomcat-node.sh start DIR [--route NAME] [--secret S] [--fast-start]
#                                    [--http-port N] [--ajp-port N] [--packet-size BYTES]
#   scripts/tomcat-node.sh stop DIR
#
# Same layout as the Rust test fixture (tests/support/tomcat.rs): CATALINA_HOME is the Debian
# package (/usr/share/tomcat10), CATALINA_BASE is DIR/base with a generated server.xml (shutdown
# port disabled, one HTTP/1.1 and one AJP/1.3 connector on 127.0.0.1 at free ports, Engine
# jvmRoute NAME, default node1; --http-port/--ajp-port fix the ports, e.g. to restart a killed
# node where its proxies expect it; --packet-size sets the AJP connector's packetSize, default
# Tomcat's 8192), the webapp from tests/webapp compiled into DIR/webapp and
# deployed at /app, static files static/1k.bin, 100k.bin, 1m.bin. Heap -Xms64m -Xmx256m,
# SerialGC; the full JIT unless --fast-start (C1 only, as the test fixture uses).
# `start` waits until /app answers and prints "http=PORT ajp=PORT pid=PID"; the same values
# are written to DIR/node.env (HTTP_PORT, AJP_PORT, PID). `stop` stops the recorded JVM
# (SIGTERM, SIGKILL after 20 s), only if its command line names DIR/base.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CATALINA_HOME=/usr/share/tomcat10
SERVLET_API=$CATALINA_HOME/lib/servlet-api.jar
PATTERN_LINE='jkgate-test-data-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH'

log() { printf '[tomcat-node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# jvm_alive PID BASE: PID runs and its command line has -Dcatalina.base=BASE
jvm_alive() {
    [[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF -- "-Dcatalina.base=$2"
}

build_webapp() {
    local out=$1 src=$ROOT/tests/webapp len
    rm -rf "$out"
    mkdir -p "$out/WEB-INF/classes" "$out/static"
    cp "$src/WEB-INF/web.xml" "$out/WEB-INF/web.xml"
    local sources=()
    mapfile -t sources < <(find "$src" -name '*.java' | sort)
    javac -nowarn -encoding UTF-8 --release 17 -cp "$SERVLET_API" -d "$out/WEB-INF/classes" "${sources[@]}" \
        || die "javac failed on $src"
    for len in 1024:1k 102400:100k 1048576:1m; do
        yes "$PATTERN_LINE" | head -c "${len%%:*}" >"$out/static/${len#*:}.bin" || true
    done
    [[ $(stat -c %s "$out/static/1k.bin") == 1024 ]] || die "static file generation failed"
}

write_base() {
    local base=$1 webapp=$2 route=$3 secret=$4 http=$5 ajp=$6 packet=$7 ajp_secret
    mkdir -p "$base"/{conf/Catalina/localhost,logs,temp,work,webapps}
    cp "$CATALINA_HOME/etc/web.xml" "$CATALINA_HOME/etc/catalina.properties" "$base/conf/"
    if [[ -n $secret ]]; then
        ajp_secret="secretRequired=\"true\" secret=\"$secret\""
    else
        ajp_secret='secretRequired="false"'
    fi
    if [[ -n $packet ]]; then ajp_secret+=" packetSize=\"$packet\""; fi
    cat >"$base/conf/logging.properties" <<'EOT'
handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = INFO
java.util.logging.ConsoleHandler.level = ALL
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
EOT
    cat >"$base/conf/context.xml" <<'EOT'
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
</Context>
EOT
    cat >"$base/conf/Catalina/localhost/app.xml" <<EOT
<?xml version="1.0" encoding="UTF-8"?>
<Context docBase="$webapp" reloadable="false">
  <Manager pathname=""/>
  <JarScanner scanClassPath="false" scanManifest="false"/>
</Context>
EOT
    cat >"$base/conf/server.xml" <<EOT
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by jkgate scripts/tomcat-node.sh for node $route. -->
<Server port="-1" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener"/>
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
  <Service name="Catalina">
    <Connector protocol="HTTP/1.1" address="127.0.0.1" port="$http"
               connectionTimeout="20000" maxParameterCount="1000"/>
    <Connector protocol="AJP/1.3" address="127.0.0.1" port="$ajp"
               maxParameterCount="1000" $ajp_secret/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="$route">
      <Host name="localhost" appBase="webapps" unpackWARs="false"
            autoDeploy="false" deployOnStartup="true"/>
    </Engine>
  </Service>
</Server>
EOT
}

cmd_start() {
    local dir=${1:-} route=node1 secret="" fast=0 http="" ajp="" packet=""
    [[ -n $dir ]] || usage
    shift
    while (($#)); do
        case $1 in
            --route) route=$2; shift ;;
            --secret) secret=$2; shift ;;
            --fast-start) fast=1 ;;
            --http-port) http=$2; shift ;;
            --ajp-port) ajp=$2; shift ;;
            --packet-size) packet=$2; shift ;;
            *) usage ;;
        esac
        shift
    done
    [[ -x $CATALINA_HOME/bin/catalina.sh ]] || die "Tomcat 10.1 missing ($CATALINA_HOME); install the tomcat10 package (scripts/test does)"
    command -v javac >/dev/null || die "javac missing; install openjdk-17-jdk-headless"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local base=$dir/base old_pid=""
    if [[ -s $dir/node.env ]]; then
        old_pid=$(sed -n 's/^PID=//p' "$dir/node.env")
        jvm_alive "$old_pid" "$base" && die "a node already runs from $dir (pid $old_pid)"
    fi
    build_webapp "$dir/webapp"
    if [[ -n $packet ]]; then
        [[ $packet =~ ^[0-9]+$ ]] && ((packet >= 8192 && packet <= 65536)) || die "--packet-size must be 8192..65536"
    fi
    [[ -n $http ]] || http=$(free_port)
    [[ -n $ajp ]] || ajp=$(free_port)
    port_open "$http" && die "port $http is in use"
    port_open "$ajp" && die "port $ajp is in use"
    write_base "$base" "$dir/webapp" "$route" "$secret" "$http" "$ajp" "$packet"
    local jit=""
    ((fast)) && jit="-XX:TieredStopAtLevel=1"
    (
        cd "$base"
        export CATALINA_HOME CATALINA_BASE="$base" CATALINA_TMPDIR="$base/temp"
        export JAVA_OPTS="-Xms64m -Xmx256m -XX:+UseSerialGC $jit -Djava.awt.headless=true -Djava.security.egd=file:/dev/./urandom -Dorg.apache.catalina.startup.EXIT_ON_INIT_FAILURE=true -Djkgate.node=$route -Djkgate.jvmRoute=$route"
        export CATALINA_OPTS=""
        exec "$CATALINA_HOME/bin/catalina.sh" run </dev/null >>"$base/logs/catalina.out" 2>&1
    ) &
    local pid=$!
    printf 'HTTP_PORT=%s\nAJP_PORT=%s\nPID=%s\n' "$http" "$ajp" "$pid" >"$dir/node.env"
    local deadline=$((SECONDS + ${JKGATE_TOMCAT_START_TIMEOUT_SECS:-300})) code
    while :; do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$http/app/static/1k.bin" 2>/dev/null || true)
        [[ $code == 200 ]] && port_open "$ajp" && break
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$base/logs/catalina.out" >&2 || true
            die "node $route: the JVM exited during start (log: $base/logs/catalina.out)"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 40 "$base/logs/catalina.out" >&2 || true
            cmd_stop "$dir"
            die "node $route not ready within ${JKGATE_TOMCAT_START_TIMEOUT_SECS:-300} s"
        fi
        sleep 0.2
    done
    echo "http=$http ajp=$ajp pid=$pid"
}

cmd_stop() {
    local dir=${1:-} pid base deadline
    [[ -n $dir && -d $dir ]] || usage
    dir=$(cd "$dir" && pwd)
    base=$dir/base
    pid=$(sed -n 's/^PID=//p' "$dir/node.env" 2>/dev/null || true)
    jvm_alive "$pid" "$base" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while jvm_alive "$pid" "$base" && ((SECONDS < deadline)); do sleep 0.2; done
    if jvm_alive "$pid" "$base"; then kill -KILL "$pid" 2>/dev/null || true; fi
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) usage ;;
esac
