#!/usr/bin/env bash
# benches/idle_clients.sh - what idle keep-alive clients cost jkgate in memory.
#
# Usage: benches/idle_clients.sh [CLIENTS]   (default 10000)
# Environment: JKGATE_BIN (default target/release/jkgate, built with `cargo build --release`
# when missing).
#
# Builds examples/idle_clients.rs and runs it: it starts `jkgate run` with a status worker
# only (no backend: only jkgate is measured), KeepAliveTimeout 120 and MaxConnections above
# CLIENTS, opens CLIENTS connections that each send one request and then stay idle, and
# prints jkgate's VmRSS (from /proc/PID/status) before, with every client idle, and after they
# closed, and the cost per idle connection. The run is bounded to about 30 s; jkgate is
# stopped by its PID when the program ends. Client and jkgate each hold CLIENTS descriptors:
# the open-file limit is raised to CLIENTS + 100 here when the hard limit allows.
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-10000}"
bin="${JKGATE_BIN:-target/release/jkgate}"
if [[ ! -x "$bin" ]]; then
    cargo build --release --bin jkgate
fi
cargo build --release --example idle_clients
need=$((clients + 100))
if (( $(ulimit -n) < need )); then
    ulimit -n "$need" || { echo "idle_clients.sh: cannot raise the open-file limit to $need (hard limit $(ulimit -Hn))" >&2; exit 1; }
fi
exec timeout 60 target/release/examples/idle_clients "$bin" "$clients"
