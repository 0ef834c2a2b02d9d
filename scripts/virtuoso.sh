#!/usr/bin/env bash
# A throwaway Virtuoso (Debian's virtuoso-opensource 7.2) for kgexplain: a fresh database in DIR, bound to
# loopback, whose /sparql endpoint accepts updates from anyone who can reach it. For tests and trials only.
#
#   scripts/virtuoso.sh start [DIR]   starts it in DIR (a new temporary directory when omitted), waits until
#                                     /sparql answers, grants updates, and prints the endpoint URL
#   scripts/virtuoso.sh stop DIR      stops the server started in DIR (DIR itself is left for you to delete)
#
# Then: kgexplain demo --out OUT --endpoint "$(scripts/virtuoso.sh start /tmp/v)"
# VIRTUOSO_HTTP_PORT and VIRTUOSO_ISQL_PORT choose the ports (free ones otherwise); VIRTUOSO_BIN and
# VIRTUOSO_ISQL the binaries (virtuoso-t and isql-vt, as Debian names them); VIRTUOSO_MAX_ROWS the row limit
# of one answer (100,000,000). DIR keeps virtuoso.ini, virtuoso.log (the server's log), server.pid and
# endpoint (the URL).
set -euo pipefail

VIRTUOSO_BIN=${VIRTUOSO_BIN:-virtuoso-t}
VIRTUOSO_ISQL=${VIRTUOSO_ISQL:-isql-vt}
# A fresh database's DBA password. The server only listens on loopback.
DBA_PASSWORD=dba

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }

# A port nothing listens on (bash's /dev/tcp probe), from a range above the usual services.
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "no free port found" >&2
    exit 1
}

write_ini() {   # DIR HTTP_PORT ISQL_PORT
    local dir=$1
    cat >"$dir/virtuoso.ini" <<INI
; Written by scripts/virtuoso.sh: a throwaway kgexplain test database.
[Database]
DatabaseFile       = $dir/virtuoso.db
ErrorLogFile       = $dir/virtuoso.log
LockFile           = $dir/virtuoso.lck
TransactionFile    = $dir/virtuoso.trx
xa_persistent_file = $dir/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = $dir/virtuoso-temp.db
TransactionFile    = $dir/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:$3
DisableUnixSocket    = 1
MaxClientConnections = 10
CheckpointInterval   = 60
CaseMode             = 2
DirsAllowed          = ., $dir
MaxQueryMem          = 1G
NumberOfBuffers      = 85000
MaxDirtyBuffers      = 65000
ThreadsPerQuery      = 2
; ORDER BY … LIMIT/OFFSET keeps at most this many rows (10,000 by default).
MaxSortedTopRows     = 100000000
; Loading from files through the SQL side is not needed: kgexplain sends INSERT DATA over HTTP.
AllowOSCalls         = 0

[HTTPServer]
ServerPort           = 127.0.0.1:$2
ServerRoot           = $dir
MaxClientConnections = 10
ServerThreads        = 10
MaxKeepAlives        = 10
KeepAliveTimeout     = 10
Charset              = UTF-8
EnabledGzipContent   = 0

[SPARQL]
; The packaged limits cut results at 10,000 rows and queries at 60 s, returning partial answers: lift them.
ResultSetMaxRows           = ${VIRTUOSO_MAX_ROWS:-100000000}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime      = 0
INI
}

start() {
    local dir=${1:-}
    if ! command -v "$VIRTUOSO_BIN" >/dev/null; then
        echo "$VIRTUOSO_BIN not found (Debian: apt install virtuoso-opensource)" >&2
        exit 1
    fi
    if [ -z "$dir" ]; then dir=$(mktemp -d -t kgx-virtuoso.XXXXXX); fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/virtuoso.db" ]; then echo "$dir already holds a database" >&2; exit 1; fi
    local http_port=${VIRTUOSO_HTTP_PORT:-$(free_port)} isql_port=${VIRTUOSO_ISQL_PORT:-$(free_port)}
    write_ini "$dir" "$http_port" "$isql_port"
    (cd "$dir" && exec "$VIRTUOSO_BIN" +foreground +configfile "$dir/virtuoso.ini" >"$dir/stdout.log" 2>&1) &
    echo $! >"$dir/server.pid"
    # The log says "Server online" once both listeners are up (the HTTP one first).
    local url="http://127.0.0.1:$http_port/sparql" deadline=$((SECONDS + 120))
    until grep -q "Server online at" "$dir/virtuoso.log" 2>/dev/null; do
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
            echo "Virtuoso did not start; the end of $dir/virtuoso.log:" >&2
            tail -n 20 "$dir/virtuoso.log" >&2 2>/dev/null || true
            stop "$dir" 2>/dev/null || true
            exit 1
        fi
        sleep 0.5
    done
    # The anonymous /sparql user ("SPARQL", running as "nobody") may read and write every graph.
    "$VIRTUOSO_ISQL" "127.0.0.1:$isql_port" dba "$DBA_PASSWORD" \
        exec="GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);" \
        >"$dir/grants.log" 2>&1 || { cat "$dir/grants.log" >&2; stop "$dir"; exit 1; }
    echo "$url" >"$dir/endpoint"
    echo "$url"
}

stop() {
    local dir=${1:?usage: $0 stop DIR}
    [ -f "$dir/server.pid" ] || { echo "no server.pid in $dir" >&2; exit 1; }
    local pid
    pid=$(cat "$dir/server.pid")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$dir/server.pid"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    *) usage ;;
esac
