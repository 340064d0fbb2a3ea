#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run-pg`: the demo of `make run` on PostgreSQL with two daemons. A
# throwaway cluster in var/pg (tools/pgtest.sh: initdb as an unprivileged user
# when run as root, its own port and socket directory, recreated on every
# run), a database modeld_demo with the demo data (tools/demo.sh), and two
# daemons on it: 127.0.0.1:8080 and 127.0.0.1:8081 (PORT, PORT2), each with
# its own artifact cache under var/pg-demo/. Either answers for every model,
# whichever trains it. Ctrl-C stops both daemons and the cluster.
set -eu
BIN=${1:-build/modeld}
PORT=${PORT:-8080}
PORT2=${PORT2:-8081}
PGDIR=var/pg
CACHE=var/pg-demo
PIDS=""

cleanup() {
    trap - EXIT INT TERM
    for p in $PIDS; do
        kill "$p" 2>/dev/null || true
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
    sh tools/pgtest.sh stop "$PGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p var
sh tools/pgtest.sh stop "$PGDIR" # the last run's, if any
CONNINFO=$(sh tools/pgtest.sh start "$PGDIR")
PGPORT=$(echo "$CONNINFO" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
psql "$CONNINFO" -qc "CREATE DATABASE modeld_demo" >/dev/null
DB="postgresql://modeld@127.0.0.1:$PGPORT/modeld_demo"
rm -rf "$CACHE"
mkdir -p "$CACHE/a" "$CACHE/b"

DEMO_DB=$DB DEMO_SETUP_ONLY=1 PORT=$PORT sh tools/demo.sh "$BIN"
"$BIN" serve --db "$DB" --data-dir "$CACHE/a" --bind 127.0.0.1 --port "$PORT" &
PIDS="$!"
"$BIN" serve --db "$DB" --data-dir "$CACHE/b" --bind 127.0.0.1 --port "$PORT2" &
PIDS="$PIDS $!"
cat <<MSG
Two daemons on one PostgreSQL database ($DB):
  http://127.0.0.1:$PORT and http://127.0.0.1:$PORT2 (the same token works on both;
  create a model on one, follow it and predict on the other)
  psql "$CONNINFO dbname=modeld_demo"

MSG
# until Ctrl-C, or until a daemon exits
while :; do
    for p in $PIDS; do
        if ! kill -0 "$p" 2>/dev/null; then
            echo "run-pg: a daemon exited" >&2
            exit 1
        fi
    done
    sleep 1
done
