#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench-cluster`: jobs per minute with 1, 2 and 3 daemons on one
# PostgreSQL database. A throwaway cluster (tools/pgtest.sh) in a temp dir;
# for each N a fresh database with a project, a token and one synthetic
# CLASS session (DOCS documents, three topics, made here with awk), then N
# daemons (`serve --workers 1`, their own artifact caches) and JOBS models
# created round-robin through them at once; the clock runs from the first
# POST until every model is READY or FAILED (read from the database).
# Each row: daemons, jobs, seconds, jobs per minute, the largest claim count
# (models.attempt: 1 means no job was trained twice) and the FAILED count.
# The first row is the same run with one daemon on a SQLite file, the
# reference without the protocol's round trips. Workers run at --worker-nice
# 0 here, so that the figures depend less on what else the machine runs.
# On a 2-core machine a third daemon adds a worker but no core: the figures
# show what the queue protocol costs (claims, leases, heartbeats,
# notifications), not how it scales.
#
# Usage: cluster_bench.sh path/to/modeld
# Environment: JOBS (30), DOCS (600), DAEMONS ("1 2 3"), PORT (18800: daemon
# i of the run with n daemons listens on PORT+10n+i).
set -eu
BIN=$1
JOBS=${JOBS:-30}
DOCS=${DOCS:-600}
DAEMONS=${DAEMONS:-1 2 3}
PORT=${PORT:-18800}

die() {
    echo "cluster_bench: $*" >&2
    exit 1
}
for tool in curl psql sqlite3 awk; do
    command -v $tool >/dev/null || die "$tool is missing"
done
[ -x "$BIN" ] || die "$BIN is missing (make bench-cluster builds it)"

DIR=$(mktemp -d)
chmod 0755 "$DIR" # the cluster's unprivileged owner (as root: nobody) must reach $DIR/pg
PGDIR=$DIR/pg
PIDS=""
stop_daemons() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
}
cleanup() {
    stop_daemons
    sh tools/pgtest.sh stop "$PGDIR" || true
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

CONNINFO=$(sh tools/pgtest.sh start "$PGDIR")
PGPORT=$(echo "$CONNINFO" | sed -n 's/.*port=\([0-9]*\).*/\1/p')

# DOCS documents, a third on each topic, distinct sentences.
awk -v n="$DOCS" 'BEGIN {
    split("football match goal team player coach league stadium", w1, " ");
    split("pizza pasta cheese dinner recipe bread sauce soup", w2, " ");
    split("computer software laptop code program internet server keyboard", w3, " ");
    split("sports food tech", topic, " ");
    for (i = 0; i < n; i++) {
        k = i % 3 + 1;
        s = "";
        for (j = 0; j < 6; j++) {
            x = (i * 7 + j * 3) % 8 + 1;
            s = s (j ? " " : "") (k == 1 ? w1[x] : k == 2 ? w2[x] : w3[x]);
        }
        printf "{\"text\":\"%s number %d\",\"class\":\"%s\"}\n", s, i, topic[k];
    }
}' >"$DIR/docs.jsonl"

# A daemon's log, then stop with an error.
die_log() {
    tail -n 20 "$2" >&2 || true
    die "$1"
}

printf '%-10s %6s %9s %12s %12s %7s\n' daemons jobs seconds jobs/min max_claims failed
for n in sqlite $DAEMONS; do
    if [ "$n" = sqlite ]; then
        DB=$DIR/bench.db
        count() { sqlite3 "$DB" "$1"; }
        label="1 (SQLite)"
        n=1
    else
        dbname=bench_$n
        psql "$CONNINFO" -qc "CREATE DATABASE $dbname" >/dev/null
        DB="postgresql://modeld@127.0.0.1:$PGPORT/$dbname"
        count() { psql "$CONNINFO dbname=$dbname" -Atc "$1"; }
        label=$n
    fi
    base=$((PORT + 10 * n))
    "$BIN" workspace create --db "$DB" --name bench >/dev/null
    "$BIN" project create --db "$DB" --workspace 1 --name bench >/dev/null
    "$BIN" user create --db "$DB" --name bench >/dev/null
    TOKEN=$("$BIN" token create --db "$DB" --user 1)
    "$BIN" member add --db "$DB" --project 1 --user 1 --role OWNER >/dev/null
    "$BIN" annotations import --db "$DB" --project 1 --name docs --type CLASS --language en \
        "$DIR/docs.jsonl" >/dev/null
    i=0
    while [ "$i" -lt "$n" ]; do
        mkdir -p "$DIR/cache-$n-$i"
        "$BIN" serve --db "$DB" --data-dir "$DIR/cache-$n-$i" --bind 127.0.0.1 \
            --port $((base + i)) --workers 1 --worker-nice 0 2>"$DIR/serve-$n-$i.log" &
        PIDS="$PIDS $!"
        i=$((i + 1))
    done
    i=0
    while [ "$i" -lt "$n" ]; do
        tries=0
        until curl -sf "http://127.0.0.1:$((base + i))/health" >/dev/null; do
            tries=$((tries + 1))
            [ "$tries" -lt 200 ] || die_log "daemon $i of $n did not start" "$DIR/serve-$n-$i.log"
            sleep 0.1
        done
        i=$((i + 1))
    done
    t0=$(date +%s.%N)
    j=0
    while [ "$j" -lt "$JOBS" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
            "http://127.0.0.1:$((base + j % n))/projects/1/models" \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            -d "{\"name\":\"m$j\",\"language\":\"en\",\"annotation_ids\":[1]}")
        [ "$code" = 201 ] || die "POST model $j: $code"
        j=$((j + 1))
    done
    q="SELECT COUNT(*) FROM models WHERE status IN ('READY', 'FAILED')"
    until [ "$(count "$q")" -ge "$JOBS" ]; do
        sleep 0.1
    done
    t1=$(date +%s.%N)
    claims=$(count "SELECT MAX(attempt) FROM models")
    failed=$(count "SELECT COUNT(*) FROM models WHERE status = 'FAILED'")
    stop_daemons
    awk -v n="$label" -v j="$JOBS" -v t0="$t0" -v t1="$t1" -v c="$claims" -v f="$failed" \
        'BEGIN { s = t1 - t0; printf "%-10s %6d %9.2f %12.1f %12s %7d\n", n, j, s, j * 60 / s, c, f }'
done
