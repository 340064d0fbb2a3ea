#!/bin/sh
# SPDX-License-Identifier: MIT
# The HTTP benchmark of issue 9 (`make bench-http`). On 127.0.0.1 it measures,
# with wrk (2 threads, 32 connections, DURATION seconds each, default 5):
#   * the static ceiling: bench/ceiling.c (libmicrohttpd with modeld's thread
#     model, a fixed 201 JSON body), GET and POST;
#   * modeld serve --workers 0 (API only; falls back to --workers 1, with a note,
#     where the binary refuses 0) on a fresh database: POST create (a unique
#     name per request, valid body, real bearer token; afterwards the models in
#     the database must equal the 201s the daemon logged, and cover wrk's 2xx),
#     GET model, list page, predict (10 short texts), the 401 path (bad token);
#   * the create run again after a restart with the default workers, which
#     train the queued models meanwhile;
#   * 1,000 idle event streams (bench/sse_clients.c, from 127.0.0.2..9): the
#     daemon's CPU over IDLE seconds (default 10) and RSS, then how long a
#     change (POST .../cancel of a QUEUED model) takes to reach its streams;
#   * the daemon's RSS idle after start, after the create run, peak (VmHWM).
# Each row gives requests/s, p50/p99 and the ratio to the ceiling of the same
# run, then one table holds the goals of issue 9 (pass/miss). A scenario that
# cannot run stops the script with an error (exit 1); a scenario that got
# answers other than the expected status is flagged and the script exits 1
# after printing everything.
#
# Usage: http_bench.sh path/to/modeld [dir of ceiling and sse_clients]
# Environment: DURATION (5), IDLE (10), STREAMS (1000), PORT (18700; the
# ceiling uses PORT+1).
set -eu
BIN=$1
HELPERS=${2:-$(dirname "$BIN")}
DURATION=${DURATION:-5}
IDLE=${IDLE:-10}
STREAMS=${STREAMS:-1000}
PORT=${PORT:-18700}
CPORT=$((PORT + 1))
URL=http://127.0.0.1:$PORT
WRK="wrk -t2 -c32 -d${DURATION}s --timeout 10s"

die() {
    echo "http_bench: $*" >&2
    exit 1
}
for tool in wrk curl sqlite3 awk; do
    command -v $tool >/dev/null || die "$tool is missing (make deps-bench installs it)"
done
for b in "$BIN" "$HELPERS/ceiling" "$HELPERS/sse_clients"; do
    [ -x "$b" ] || die "$b is missing (make bench-http builds it)"
done

DIR=$(mktemp -d)
DPID=
CPID=
SSE_PID=
cleanup() {
    [ -z "$SSE_PID" ] || kill "$SSE_PID" 2>/dev/null || true
    [ -z "$CPID" ] || { kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null || true; }
    [ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; }
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

RES=$DIR/results      # name rps p50_ms p99_ms requests non_expected base
NOTES=$DIR/notes
FLAGGED=0
: >"$RES"
: >"$NOTES"
note() { echo "$*" >>"$NOTES"; }
flag() {
    note "FLAGGED: $*"
    FLAGGED=1
}

# ---- fresh database --------------------------------------------------------
DB=$DIR/bench.db
WS=$("$BIN" workspace create --db "$DB" --name bench)
P=$("$BIN" project create --db "$DB" --workspace "$WS" --name bench)
U=$("$BIN" user create --db "$DB" --name bench)
TOKEN=$("$BIN" token create --db "$DB" --user "$U")
BAD_TOKEN=not-a-token-of-this-daemon-0123456789
"$BIN" member add --db "$DB" --project "$P" --user "$U" --role OWNER >/dev/null
S=$("$BIN" annotations import --db "$DB" --project "$P" --name de --type CLASS --language de \
    tools/demo-data/reviews_de.jsonl)
sql() { sqlite3 -cmd '.timeout 10000' "$DB" "$1"; }

# ---- processes --------------------------------------------------------------
# wait_http URL PID: until URL answers (0), the process died (1) or 10 s passed (2).
wait_http() {
    i=0
    while [ $i -lt 100 ]; do
        kill -0 "$2" 2>/dev/null || return 1
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 2
}
# start_daemon LABEL [serve options]: DPID, DLOG; 1 when the daemon exited at start.
start_daemon() {
    DLOG=$DIR/$1.log
    shift
    "$BIN" serve --db "$DB" --port "$PORT" "$@" 2>"$DLOG" &
    DPID=$!
    rc=0
    wait_http "$URL/healthz" "$DPID" || rc=$?
    [ $rc -ne 0 ] || return 0
    [ $rc -ne 2 ] || kill "$DPID" # alive but not answering
    wait "$DPID" 2>/dev/null || true
    DPID=
    return 1
}
stop_daemon() {
    kill "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=
}
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---- one wrk run ---------------------------------------------------------------
# The done() hook prints exact percentiles and the error counts (wrk counts
# any status outside 2xx/3xx as errors.status).
cat >"$DIR/done.lua" <<'LUA'
function done(s, lat, req)
  local e = s.errors
  io.write(string.format("BENCH %d %d %.0f %.0f %d %d %d %d %d\n", s.requests, s.duration,
    lat:percentile(50), lat:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
LUA
# quiet LOG: wait until the requests still in flight after wrk stopped have
# ended (no new request line in the daemon's log for half a second; at most 15 s).
quiet() {
    n0=-1
    i=0
    while [ "$n0" != "$(grep -c ' request ' "$1")" ] && [ $i -lt 30 ]; do
        n0=$(grep -c ' request ' "$1")
        sleep 0.5
        i=$((i + 1))
    done
}
# run_wrk NAME BASE EXPECT LUA URL [LOG [FILTER]]: one row of $RES. EXPECT is the status
# every answer must have (2xx: wrk's error count must be 0; otherwise every
# answer must be an error). With LOG, the daemon's log lines of the run (those
# holding the text FILTER if given) are counted too: every one must carry EXPECT.
run_wrk() {
    name=$1 base=$2 expect=$3 lua=$4 url=$5 log=${6:-} only=${7:-}
    cat "$DIR/done.lua" >>"$lua"
    before=0
    [ -z "$log" ] || before=$(wc -l <"$log")
    $WRK -s "$lua" "$url" >"$DIR/wrk.out" 2>&1 || die "wrk failed for $name: $(cat "$DIR/wrk.out")"
    line=$(grep '^BENCH ' "$DIR/wrk.out") || die "wrk printed no result for $name"
    set -- $line
    req=$2 dur=$3 p50=$4 p99=$5 st=$6 sockerr=$(($7 + $8 + $9 + ${10}))
    [ "$req" -gt 0 ] || die "$name: no request completed"
    if [ "$expect" -lt 300 ]; then ok=$((req - st)) bad=$st; else ok=$st bad=$((req - st)); fi
    [ "$bad" -eq 0 ] || flag "$name: $bad answers were not $expect"
    [ "$sockerr" -eq 0 ] || flag "$name: $sockerr socket errors (connect/read/write/timeout)"
    if [ -n "$log" ]; then
        quiet "$log"
        tail -n +$((before + 1)) "$log" | grep ' request ' | grep -F -- "$only" >"$DIR/run.log" ||
            true
        logged=$(grep -c " -> $expect " "$DIR/run.log" || true)
        other=$(grep -vc " -> $expect " "$DIR/run.log" || true)
        [ "$other" -eq 0 ] || flag "$name: the daemon logged $other answers other than $expect:" \
            "$(grep -v " -> $expect " "$DIR/run.log" | awk '{print $(NF-1)}' | sort | uniq -c |
                tr '\n' ' ')"
        LOGGED=$logged
    fi
    OK=$ok
    echo "$name $req $dur $p50 $p99 $bad $base" >>"$RES"
    awk -v n="$name" -v r="$req" -v d="$dur" -v a="$p50" -v b="$p99" -v bad="$bad" 'BEGIN {
        printf "  %-24s %9.0f req/s  p50 %7.2f ms  p99 %8.2f ms  (%d requests, %d unexpected)\n",
               n, r / (d / 1e6), a / 1000, b / 1000, r, bad }'
}
# lua_get TOKEN: a GET script with that bearer token.
lua_get() {
    f=$DIR/get-$(date +%s%N).lua
    printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$1" >"$f"
    echo "$f"
}
# lua_create PREFIX: POST create with a unique name per request: thread number
# (given in setup) and a per-thread counter.
lua_create() {
    f=$DIR/create-$1.lua
    cat >"$f" <<LUA
local n = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  n = n + 1
  local body = string.format('{"name":"$1-%d-%d","language":"de","annotation_ids":[$S]}', tid, n)
  return wrk.format("POST", nil, nil, body)
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
    echo "$f"
}
models() { sql "SELECT count(*) FROM models WHERE project_id = $P"; }
# run_create NAME PREFIX: the create run plus its durability check.
run_create() {
    m0=$(models)
    run_wrk "$1" ceiling_post 201 "$(lua_create "$2")" "$URL/projects/$P/models" "$DLOG"
    m1=$(models)
    made=$((m1 - m0))
    echo "  $1: $made models in the database, $LOGGED 201s logged by the daemon, $OK 2xx seen by wrk"
    [ "$made" -eq "$LOGGED" ] || flag "$1: $made models in the database but $LOGGED 201s logged"
    # wrk drops the answers still in flight when the time is up (at most one per connection)
    [ "$OK" -le "$made" ] && [ "$made" -le $((OK + 32)) ] ||
        flag "$1: $made models in the database for $OK 2xx seen by wrk"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "modeld HTTP benchmark (issue 9): wrk -t2 -c32 -d${DURATION}s on 127.0.0.1, $(nproc) cores," \
    "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "load average at start: $(load) (the client, the servers and any other work share the cores)"

# ---- the ceiling ---------------------------------------------------------------
"$HELPERS/ceiling" "$CPORT" &
CPID=$!
wait_http "http://127.0.0.1:$CPORT/" "$CPID" || die "the ceiling did not start"
echo "static ceiling (bench/ceiling.c):"
run_wrk "ceiling GET" ceiling_get 201 "$(lua_get "$TOKEN")" "http://127.0.0.1:$CPORT/projects/$P/models/1"
run_wrk "ceiling POST" ceiling_post 201 "$(lua_create ceiling)" "http://127.0.0.1:$CPORT/projects/$P/models"
CEIL_RSS=$(kib "$CPID" VmRSS)
kill "$CPID"
wait "$CPID" 2>/dev/null || true
CPID=

# ---- a trained model to read and predict with ------------------------------------
start_daemon setup --workers 1 || die "modeld serve did not start: $(tail -5 "$DIR/setup.log")"
M=$(curl -sf -X POST "$URL/projects/$P/models" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"predict\",\"language\":\"de\",\"annotation_ids\":[$S]}" |
    grep -o '"id":[0-9]*' | head -1 | cut -d: -f2) || die "cannot create the model to read"
i=0
until curl -sf "$URL/projects/$P/models/$M" -H "Authorization: Bearer $TOKEN" |
    grep -q '"status":"READY"'; do
    i=$((i + 1))
    [ $i -lt 300 ] || die "model $M did not train in 60 s"
    sleep 0.2
done
stop_daemon

# ---- the API alone ---------------------------------------------------------------
WORKERS=0
if ! start_daemon api --workers 0; then
    grep -q -- '--workers' "$DIR/api.log" || die "modeld serve did not start: $(tail -5 "$DIR/api.log")"
    WORKERS=1
    note "NOTE: this modeld refuses --workers 0 ($(grep -- '--workers' "$DIR/api.log" | head -1));" \
        "the API runs used --workers 1, so one worker trained the created models meanwhile," \
        "and the idle-stream CPU leaves out the training thread."
    start_daemon api --workers 1 || die "modeld serve did not start: $(tail -5 "$DIR/api.log")"
fi
API_PID=$DPID
sleep 1
RSS_IDLE=$(kib "$DPID" VmRSS)
echo "modeld serve --workers $WORKERS (pid $DPID): RSS idle after start $RSS_IDLE KiB"
run_create "POST create" c
RSS_CREATE=$(kib "$DPID" VmRSS)
run_wrk "GET model" ceiling_get 200 "$(lua_get "$TOKEN")" "$URL/projects/$P/models/$M" "$DLOG"
run_wrk "GET list (limit=50)" ceiling_get 200 "$(lua_get "$TOKEN")" \
    "$URL/projects/$P/models?limit=50" "$DLOG"
cat >"$DIR/predict.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.body = '{"texts":["Das Essen war lecker","Der Service war schrecklich","Zu teuer",' ..
  '"Sehr freundliches Personal","Nie wieder","Die Suppe war kalt","Tolle Aussicht",' ..
  '"Lange Wartezeit","Gerne wieder","Das Zimmer war sauber"]}'
LUA
run_wrk "POST predict (10 texts)" ceiling_post 200 "$DIR/predict.lua" \
    "$URL/projects/$P/models/$M/predict" "$DLOG"
run_wrk "GET model, bad token" ceiling_get 401 "$(lua_get "$BAD_TOKEN")" \
    "$URL/projects/$P/models/$M" "$DLOG"

# ---- idle event streams -----------------------------------------------------------
# Ten models of their own; with --workers 0 they stay QUEUED. With --workers 1
# they have to wait behind enough queued models that the one worker does not
# reach them before the streams are done: filler creates (not measured) top the
# queue up to 3,000 (at most 5 runs of 3 s).
if [ "$WORKERS" = 1 ]; then
    k=0
    while [ "$(sql "SELECT count(*) FROM models WHERE project_id = $P AND status = 'QUEUED'")" \
        -lt 3000 ] && [ $k -lt 5 ]; do
        k=$((k + 1))
        wrk -t2 -c32 -d3s -s "$(lua_create "fill$k")" "$URL/projects/$P/models" >/dev/null 2>&1 ||
            die "wrk failed (filler creates)"
        quiet "$DLOG"
    done
    note "NOTE: $(sql "SELECT count(*) FROM models WHERE project_id = $P AND status = 'QUEUED'")" \
        "models were queued ahead of the streams' models ($k filler create runs)," \
        "so the one worker trained during the event-stream runs."
fi
IDS=
for k in 1 2 3 4 5 6 7 8 9 10; do
    id=$(curl -sf -X POST "$URL/projects/$P/models" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' \
        -d "{\"name\":\"sse-$k\",\"language\":\"de\",\"annotation_ids\":[$S]}" |
        grep -o '"id":[0-9]*' | head -1 | cut -d: -f2) || die "cannot create the stream models"
    IDS=${IDS:+$IDS,}$id
done
CHANGES=5
echo "$STREAMS idle event streams on models $IDS, $IDLE s:"
# the streams stay open DURATION + 3 s more while wrk reads a model beside them
"$HELPERS/sse_clients" --port "$PORT" --token "$TOKEN" --project "$P" --models "$IDS" \
    --changes $CHANGES --pid "$DPID" --streams "$STREAMS" --sources 8 --idle "$IDLE" \
    --worker-threads "$WORKERS" --hold $((DURATION + 3)) >"$DIR/sse.out" 2>"$DIR/sse.err" &
SSE_PID=$!
sse_failed() {
    die "the event-stream run failed: $(cat "$DIR/sse.err") (daemon: $(tail -3 "$DLOG"))"
}
until grep -q '^holding=1' "$DIR/sse.out"; do
    kill -0 $SSE_PID 2>/dev/null || { wait $SSE_PID || true; sse_failed; }
    sleep 0.2
done
run_wrk "GET model, streams open" ceiling_get 200 "$(lua_get "$TOKEN")" \
    "$URL/projects/$P/models/$M" "$DLOG" "GET /projects/$P/models/$M "
wait $SSE_PID || sse_failed
SSE_PID=
sse() { sed -n "s/^$1=//p" "$DIR/sse.out"; }
SSE_CPU=$(sse cpu_pct)
if [ "$WORKERS" = 1 ]; then SSE_CPU=$(sse cpu_pct_without_workers); fi
echo "  opened in $(sse open_ms) ms from $(sse sources) source addresses; daemon CPU" \
    "$(sse cpu_pct) % of one core over $(sse idle_s) s (without the $(sse worker_threads)" \
    "training threads: $(sse cpu_pct_without_workers) %), $(sse threads) threads," \
    "RSS $(sse rss_kib) KiB, $(sse idle_keepalives) keep-alives"
echo "  $CHANGES models canceled one after another (137 ms apart): the event reached all" \
    "$(sse change_streams) of their streams after $(sse event_ms_min) ms (min)," \
    "$(sse event_ms_median) ms (median), $(sse event_ms_max) ms (max); the last stream per change:" \
    "$(for k in $(seq 1 $CHANGES); do printf '%s ' "$(sse change_${k}_last_ms)"; done)ms"
[ "$(sse other_events)" = 0 ] || flag "idle streams: $(sse other_events) events on models that did not change"
[ "$(sse extra_events)" = 0 ] || note "NOTE: $(sse extra_events) events beyond one on the streams of the canceled models"
PEAK_API=$(kib "$DPID" VmHWM)
echo "  peak RSS (VmHWM) of this daemon: $PEAK_API KiB"
stop_daemon

# ---- creates while the default workers train ----------------------------------------
QUEUED=$(sql "SELECT count(*) FROM models WHERE project_id = $P AND status IN ('QUEUED', 'CREATED')")
DONE0=$(sql "SELECT count(*) FROM models WHERE project_id = $P AND status IN ('READY', 'FAILED')")
start_daemon train || die "modeld serve did not start: $(tail -5 "$DIR/train.log")"
echo "modeld serve, default workers ($(nproc)), $QUEUED models queued at start:"
run_create "POST create, training" t
DONE1=$(sql "SELECT count(*) FROM models WHERE project_id = $P AND status IN ('READY', 'FAILED')")
echo "  $((DONE1 - DONE0)) trainings ended during the run"
[ $((DONE1 - DONE0)) -gt 0 ] || flag "POST create, training: no training ended during the run"
RSS_TRAIN=$(kib "$DPID" VmRSS)
PEAK_TRAIN=$(kib "$DPID" VmHWM)
echo "  RSS $RSS_TRAIN KiB, peak (VmHWM) $PEAK_TRAIN KiB"
stop_daemon
echo "load average at end: $(load)"

# ---- the table -----------------------------------------------------------------------
echo
echo "Ratios to the ceiling of this run (GET rows to ceiling GET, POST rows to ceiling POST):"
awk '
  { name = $1; for (i = 2; i <= NF - 6; i++) name = name " " $i
    req = $(NF - 5); dur = $(NF - 4); r[NR] = req / (dur / 1e6); n[NR] = name
    p50[NR] = $(NF - 3) / 1000; p99[NR] = $(NF - 2) / 1000; bad[NR] = $(NF - 1); base[NR] = $NF
    if (name == "ceiling GET") cg = r[NR]; if (name == "ceiling POST") cp = r[NR] }
  END {
    printf "| %-24s | %9s | %8s | %8s | %8s | %10s |\n", "scenario", "req/s", "p50 ms", "p99 ms",
           "ratio", "unexpected"
    printf "|%s|%s|%s|%s|%s|%s|\n", "--------------------------", "-----------", "----------",
           "----------", "----------", "------------"
    for (i = 1; i <= NR; i++) {
      c = base[i] == "ceiling_get" ? cg : cp
      printf "| %-24s | %9.0f | %8.2f | %8.2f | %8.3f | %10d |\n", n[i], r[i], p50[i], p99[i],
             r[i] / c, bad[i]
    }
  }' "$RES"
echo
echo "Goals of issue 9 (API runs with --workers $WORKERS):"
{
    awk '
      { name = $1; for (i = 2; i <= NF - 6; i++) name = name " " $i
        r = $(NF - 5) / ($(NF - 4) / 1e6)
        if (name == "ceiling GET") cg = r; if (name == "ceiling POST") cp = r
        rate[name] = r; p99[name] = $(NF - 2) / 1000 }
      END {
        print "POST create / ceiling POST", rate["POST create"] / cp, ">=", 0.2
        print "POST create p99 ms", p99["POST create"], "<", 20
        print "POST create p99 ms, workers training", p99["POST create, training"], "<", 50
        print "GET model / ceiling GET", rate["GET model"] / cg, ">=", 0.5
        print "401 path / ceiling GET", rate["GET model, bad token"] / cg, ">=", 0.8
      }' "$RES"
    echo "RSS idle after start MiB|$(awk -v k="$RSS_IDLE" 'BEGIN {print k / 1024}')|<|16"
    echo "RSS after the create run MiB|$(awk -v k="$RSS_CREATE" 'BEGIN {print k / 1024}')|<|64"
    echo "$STREAMS idle streams, % of one core|$SSE_CPU|<|2"
    echo "change -> event at its streams, max ms|$(sse event_ms_max)|<=|100"
} | awk '
  { if (index($0, "|")) split($0, f, "|")
    else { n = split($0, w, " "); f[4] = w[n]; f[3] = w[n - 1]; f[2] = w[n - 2]; f[1] = w[1]
           for (i = 2; i <= n - 3; i++) f[1] = f[1] " " w[i] }
    v = f[2] + 0; t = f[4] + 0
    ok = f[3] == ">=" ? v >= t : f[3] == "<" ? v < t : v <= t
    printf "| %-40s | %10.3f | %2s %-5s | %-4s |\n", f[1], v, f[3], f[4], ok ? "pass" : "miss" }'
echo
echo "ceiling RSS under load: $CEIL_RSS KiB; modeld peak RSS (VmHWM): API daemon $PEAK_API KiB," \
    "training daemon $PEAK_TRAIN KiB"
if [ -s "$NOTES" ]; then cat "$NOTES"; fi
[ "$FLAGGED" = 0 ] || die "flagged scenarios above: their numbers are not a valid measurement"
