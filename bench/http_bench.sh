#!/bin/sh
# SPDX-License-Identifier: MIT
# HTTP throughput of a running modeld on 127.0.0.1: starts a daemon on a
# fresh database, trains one CLASS model on tools/demo-data, then measures
# with wrk (2 threads, 32 connections, DURATION seconds each):
#   GET one model, GET the model list, POST predict (3 texts).
# Usage: http_bench.sh path/to/modeld   (DURATION=10 by default)
set -eu
BIN=$1
DURATION=${DURATION:-10}
DIR=$(mktemp -d)
PORT=${PORT:-18700}
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM

DB=$DIR/bench.db
WS=$("$BIN" workspace create --db "$DB" --name bench)
P=$("$BIN" project create --db "$DB" --workspace "$WS" --name bench)
U=$("$BIN" user create --db "$DB" --name bench)
TOKEN=$("$BIN" token create --db "$DB" --user "$U")
"$BIN" member add --db "$DB" --project "$P" --user "$U" --role OWNER >/dev/null
S=$("$BIN" annotations import --db "$DB" --project "$P" --name de --type CLASS --language de \
    tools/demo-data/reviews_de.jsonl)
"$BIN" serve --db "$DB" --port "$PORT" --workers 1 2>"$DIR/log" &
PID=$!
sleep 0.5
curl -sf -X POST "http://127.0.0.1:$PORT/projects/$P/models" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench\",\"language\":\"de\",\"annotation_ids\":[$S]}" >/dev/null
i=0
until curl -sf "http://127.0.0.1:$PORT/projects/$P/models/1" -H "Authorization: Bearer $TOKEN" |
      grep -q '"status":"READY"'; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "model did not train"; exit 1; }; sleep 0.2
done
cat > "$DIR/predict.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.body = '{"texts":["Das Essen war lecker","Der Service war schrecklich","Zu teuer"]}'
LUA
echo "modeld HTTP benchmark: wrk -t2 -c32 -d${DURATION}s, $(nproc) cores"
for what in "GET model:/projects/$P/models/1" "GET list:/projects/$P/models?limit=50"; do
    name=${what%%:*}; path=${what#*:}
    printf '%-14s ' "$name"
    wrk -t2 -c32 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" |
        awk '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} END {printf "%10s req/s  avg latency %s\n", rps, lat}'
done
printf '%-14s ' "POST predict"
wrk -t2 -c32 -d"${DURATION}s" -s "$DIR/predict.lua" "http://127.0.0.1:$PORT/projects/$P/models/1/predict" |
    awk '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} END {printf "%10s req/s  avg latency %s\n", rps, lat}'
grep -c ' -> 200 ' "$DIR/log" | xargs printf '%s requests answered 200 in the server log\n'
