#!/bin/sh
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL cluster for the tests, the demo and the benchmarks.
#
#   tools/pgtest.sh start DIR   initdb into DIR/data (when not there yet), start the
#                               server on a free port, print its libpq conninfo
#                               (maintenance database "postgres", role "modeld") on stdout
#   tools/pgtest.sh stop DIR    stop it and remove DIR (only a DIR this script made);
#                               nothing to stop is not an error
#   tools/pgtest.sh conninfo DIR   the conninfo of a running cluster
#   tools/pgtest.sh run CMD [ARG...]   start a cluster in a fresh temp dir, run CMD
#                               with MODELD_TEST_PG=<its conninfo>, stop and remove
#                               the cluster whatever CMD did (also on Ctrl-C);
#                               exits with CMD's status
#
# The server listens on 127.0.0.1 and on a Unix socket in DIR only, trusts the
# local role "modeld" (a superuser of this cluster, nothing else exists), runs
# with fsync off and max_connections=300 (many test daemons, each with its
# pool) and logs to DIR/server.log. It never touches the system's PostgreSQL
# service or its data. initdb refuses to run as root, so as root the cluster is
# made and run by an unprivileged user (PGTEST_USER, default nobody) on a DIR
# it owns; DIR's parents must let that user through (/tmp does).
# The server binaries: PG_BINDIR, else `pg_config --bindir` when initdb is
# there, else the newest /usr/lib/postgresql/*/bin.
set -eu

usage() {
    echo "usage: $0 start|stop|conninfo DIR | $0 run CMD [ARG...]" >&2
    exit 2
}

if [ "${1:-}" = run ] && [ $# -ge 2 ]; then
    shift
    RUNDIR=$(mktemp -d /tmp/modeld-pg.XXXXXX)
    # stop even when the command fails or is interrupted
    trap 'sh "$0" stop "$RUNDIR"' EXIT
    trap 'exit 130' INT TERM
    MODELD_TEST_PG=$(sh "$0" start "$RUNDIR")
    export MODELD_TEST_PG
    echo "pgtest: cluster in $RUNDIR: $MODELD_TEST_PG" >&2
    set +e
    "$@"
    rc=$?
    set -e
    exit $rc
fi
[ $# -eq 2 ] || usage
CMD=$1
DIR=$2
case $DIR in
/*) ;;
*) DIR=$(pwd)/$DIR ;;
esac
DATA=$DIR/data
MARK=$DIR/.pgtest
ROLE=modeld

bindir() {
    if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
        echo "$PG_BINDIR"
        return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        b=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$b" ] && [ -x "$b/initdb" ]; then
            echo "$b"
            return
        fi
    fi
    for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n -r); do
        if [ -x "$b/initdb" ]; then
            echo "$b"
            return
        fi
    done
    echo "pgtest: no PostgreSQL server binaries (initdb) found; install the postgresql package" >&2
    exit 1
}

# Run a command as the cluster's owner: ourselves, or PGTEST_USER when root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid="$OWNER_UID" --regid="$OWNER_GID" --clear-groups -- "$@"
    else
        "$@"
    fi
}

owner_ids() {
    if [ "$(id -u)" -eq 0 ]; then
        u=${PGTEST_USER:-nobody}
        OWNER_UID=$(id -u "$u")
        OWNER_GID=$(id -g "$u")
    fi
}

# The port of the running server in DIR, or nothing.
running_port() {
    [ -f "$DATA/postmaster.pid" ] || return 0
    pid=$(sed -n 1p "$DATA/postmaster.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        sed -n 4p "$DATA/postmaster.pid"
    fi
}

conninfo() {
    echo "host=$DIR port=$1 user=$ROLE dbname=postgres"
}

# A port in 20000-40000 nothing listens on (the server's own bind is the
# real test: start retries on another port when it fails).
pick_port() {
    while :; do
        p=$(( $(od -An -N2 -tu2 /dev/urandom) % 20000 + 20000 ))
        if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
}

start() {
    B=$(bindir)
    port=$(running_port)
    if [ -n "$port" ]; then
        conninfo "$port"
        return
    fi
    owner_ids
    made=0
    if [ ! -f "$DATA/PG_VERSION" ]; then
        if [ -e "$DIR" ] && [ ! -f "$MARK" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
            echo "pgtest: $DIR exists, is not empty and was not made by pgtest" >&2
            exit 1
        fi
        made=1
        mkdir -p "$DIR"
        : >"$MARK"
        if [ "$(id -u)" -eq 0 ]; then
            chown "$OWNER_UID:$OWNER_GID" "$DIR"
            chmod 0755 "$DIR"
        fi
        # Clean up what this run made when anything below fails.
        trap 'as_owner "$B/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true;
              [ "$made" = 1 ] && rm -rf "$DIR"' EXIT
        if ! as_owner "$B/initdb" -D "$DATA" -U "$ROLE" --auth=trust --no-sync -E UTF8 \
            --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1; then
            cat "$DIR/initdb.log" >&2
            if ! as_owner test -x "$DIR"; then
                echo "pgtest: the user $(id -un "$OWNER_UID") cannot reach $DIR" >&2
            fi
            exit 1
        fi
        cat >>"$DATA/postgresql.conf" <<CONF
# tools/pgtest.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
max_connections = 300
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
CONF
    else
        trap 'as_owner "$B/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true' EXIT
    fi
    tries=0
    while :; do
        port=$(pick_port)
        if as_owner "$B/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            echo "pgtest: the server did not start; the end of $DIR/server.log:" >&2
            tail -n 20 "$DIR/server.log" >&2 || true
            exit 1
        fi
    done
    trap - EXIT
    conninfo "$port"
}

stop() {
    if [ -f "$DATA/postmaster.pid" ]; then
        B=$(bindir)
        owner_ids
        if [ -n "$(running_port)" ]; then
            as_owner "$B/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null
        fi
    fi
    if [ -f "$MARK" ]; then
        rm -rf "$DIR"
    fi
}

case $CMD in
start) start ;;
stop) stop ;;
conninfo)
    port=$(running_port)
    [ -n "$port" ] || { echo "pgtest: no server running in $DIR" >&2; exit 1; }
    conninfo "$port"
    ;;
*) usage ;;
esac
