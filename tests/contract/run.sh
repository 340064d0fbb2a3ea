#!/bin/sh
# SPDX-License-Identifier: MIT
# The contract test (`make test-contract`, part of `make test`): a daemon on a
# fresh database with the demo data (tools/demo-data, so it runs without
# ../shared), behind two Stoplight Prism validating proxies of
# openapi/openapi.yaml. The README walk-through and every error case whose
# request the spec allows go through the strict one (`--errors`: a violation
# of the request or the response becomes Prism's own 4xx/5xx, so the expected
# status fails); requests the spec itself forbids (bad bodies, media types,
# unknown paths and methods) go through the lenient one, which forwards them
# and logs what breaks the spec. The test fails on any unexpected status or
# problem type, on any violation in the strict log and on any response
# violation in the lenient one. Event streams, which Prism sees only as text,
# are checked event by event by sse-check.js. Every process it starts is
# stopped on exit.
#
# Usage: tests/contract/run.sh MODELD_BIN NODE_BIN_DIR
#   (NODE_BIN_DIR: build/contract/node_modules/.bin, from `make test-contract`)
set -eu

BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
NODE_BIN=$(cd "$2" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SPEC=$ROOT/openapi/openapi.yaml
DATA=$ROOT/tools/demo-data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/modeld-contract.XXXXXX")
PIDS=""
FAILS=0
CHECKS=0
T0=$(date +%s)

cleanup() {
    for p in $PIDS; do
        kill "$p" 2>/dev/null || true
    done
    for p in $PIDS; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then
        rm -rf "$TMP"
    else
        echo "contract: logs kept in $TMP" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "contract: FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

# A free TCP port on 127.0.0.1 (the kernel's choice).
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Wait until file $1 holds a line matching $2 (at most $3 seconds).
wait_log() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt $(($3 * 10)) ]; then
            echo "contract: '$2' did not appear in $1:" >&2
            tail -20 "$1" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# ---- the daemon on a fresh database with demo data (the README's admin commands) ----
M=$BIN
DB=$TMP/contract.db
WS=$($M workspace create --db "$DB" --name Acme)
PROJECT=$($M project create --db "$DB" --workspace "$WS" --name Reviews)
ALICE=$($M user create --db "$DB" --name alice)
TOKEN=$($M token create --db "$DB" --user "$ALICE" --expires-in 86400)
$M member add --db "$DB" --project "$PROJECT" --user "$ALICE" --role MANAGER >/dev/null
VIC=$($M user create --db "$DB" --name vic)
VIEWER=$($M token create --db "$DB" --user "$VIC")
$M member add --db "$DB" --project "$PROJECT" --user "$VIC" --role VIEWER >/dev/null
OLGA=$($M user create --db "$DB" --name olga)
OUTSIDER=$($M token create --db "$DB" --user "$OLGA")
REVOKED=$($M token create --db "$DB" --user "$ALICE")
$M token revoke --db "$DB" --token "$REVOKED" >/dev/null
SESSION=$($M annotations import --db "$DB" --project "$PROJECT" --name restaurants \
          --type ABSA --language en "$DATA/restaurants_en.jsonl")
DE=$($M annotations import --db "$DB" --project "$PROJECT" --name bewertungen \
     --type CLASS --language de "$DATA/reviews_de.jsonl")

$M serve --db "$DB" --data-dir "$TMP/artifacts" --port 0 --workers 1 >"$TMP/modeld.log" 2>&1 &
PIDS="$PIDS $!"
wait_log "$TMP/modeld.log" "listening on" 10
UP=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$TMP/modeld.log" | head -1)

# ---- the proxies ------------------------------------------------------------------
SP=$(free_port)
LP=$(free_port)
"$NODE_BIN/prism" proxy "$SPEC" "$UP" --errors -h 127.0.0.1 -p "$SP" >"$TMP/strict.log" 2>&1 &
PIDS="$PIDS $!"
"$NODE_BIN/prism" proxy "$SPEC" "$UP" -h 127.0.0.1 -p "$LP" >"$TMP/lenient.log" 2>&1 &
PIDS="$PIDS $!"
wait_log "$TMP/strict.log" "Prism is listening" 60
wait_log "$TMP/lenient.log" "Prism is listening" 60
S=http://127.0.0.1:$SP
L=http://127.0.0.1:$LP

# call WANT TYPE BASE METHOD PATH [curl args...]: one request; WANT is the
# expected status (several as 200,409), TYPE the expected problem type or -.
# The body is left in $TMP/body, the head in $TMP/head.
call() {
    want=$1 type=$2 base=$3 method=$4 path=$5
    shift 5
    CHECKS=$((CHECKS + 1))
    code=$(curl -sS -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' --max-time 30 \
           -X "$method" "$base$path" "$@") || code=000
    case ",$want," in
    *",$code,"*) ;;
    *)  fail "$method $path: $code, expected $want: $(head -c 700 "$TMP/body")"
        return 0 ;;
    esac
    if [ "$type" != - ] && ! grep -q "\"type\":\"urn:modeld:problem:$type\"" "$TMP/body"; then
        fail "$method $path: $code without type urn:modeld:problem:$type: $(head -c 500 "$TMP/body")"
    fi
}

# The id at the end of the Location header of the last call.
location_id() {
    sed -n 's|^[Ll]ocation: .*/\([0-9]*\)\r*$|\1|p' "$TMP/head"
}

# The value of the first string field KEY of the last body.
body_field() {
    grep -o "\"$1\":\"[^\"]*\"" "$TMP/body" | head -1 | sed 's/^[^:]*:"//; s/"$//'
}

# Poll model $1 until it is READY (at most about a minute; a few seconds on the demo data).
wait_ready() {
    i=0
    while :; do
        call 200 - "$S" GET "$P/models/$1" -H "$AUTH"
        st=$(body_field status)
        [ "$st" = READY ] && return 0
        i=$((i + 1))
        if [ "$st" = FAILED ] || [ "$i" -gt 600 ]; then
            fail "model $1 did not become READY: $(head -c 500 "$TMP/body")"
            return 0
        fi
        sleep 0.1
    done
}

# Follow the events of model $1 in the background, through the strict proxy (which passes
# the stream on when it ends, once training is over) into $TMP/events-$2.
follow_events() {
    curl -sS -N --max-time 120 -o "$TMP/events-$2" -w '%{http_code}' "$S$P/models/$1/events" \
         -H "$AUTH" >"$TMP/events-$2.status" &
    eval "EVENTS_$2=\$!"
}

# Wait for the stream $1 of follow_events; check it was a 200 whose every event fits
# ModelEvent (sse-check.js) and whose last model event has status $2.
check_events() {
    CHECKS=$((CHECKS + 1))
    eval "wait \$EVENTS_$1" || fail "the event stream $1 failed"
    [ "$(cat "$TMP/events-$1.status")" = 200 ] ||
        fail "events $1: $(cat "$TMP/events-$1.status"): $(head -c 500 "$TMP/events-$1")"
    NODE_PATH=$NODE_BIN/.. node "$ROOT/tests/contract/sse-check.js" "$SPEC" ModelEvent \
        <"$TMP/events-$1" || fail "the event stream $1 breaks ModelEvent"
    last=$(grep -o '"status":"[A-Z]*"' "$TMP/events-$1" | tail -1)
    [ "$last" = "\"status\":\"$2\"" ] || fail "the event stream $1 ended with $last, not $2"
}

# create VAR PATH JSON: POST the JSON body to $P/PATH through the strict proxy, expect a
# 201 and set VAR to the id in its Location (stop when there is none: the rest needs it).
create() {
    call 201 - "$S" POST "$P/$2" -H "$AUTH" -H "$JSON" -d "$3"
    eval "$1=\$(location_id)"
    need "$1"
}

# Stop unless the variable named $1 is set (a resource the rest needs was not created).
need() {
    eval "v=\${$1:-}"
    if [ -z "$v" ]; then
        fail "no $1: cannot go on"
        exit 1
    fi
}

AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"
P=/projects/$PROJECT

# ---- the README walk-through, through the strict proxy -----------------------------
call 200 - "$S" GET /health
call 200 - "$S" GET /healthz
call 200 - "$S" GET /readyz
call 200 - "$S" GET /openapi.json
call 200 - "$S" GET /openapi.yaml
call 200 - "$S" GET /metrics
call 200 - "$S" GET /base-models -H "$AUTH"
# the dashboard's files (not /ui and /ui/: Prism follows the redirect, and takes /ui/ for
# /ui/{asset} without its asset; tests/check_api_ui.c checks both), and the browser session
# a reloaded page reads
call 200 - "$S" GET /ui/index.html
call 200 - "$S" GET /ui/favicon.svg
call 404 not-found "$S" GET /ui/nope.js
call 401 unauthenticated "$S" GET /session
call 201 - "$S" POST /session -H "$JSON" -d "{\"token\": \"$TOKEN\"}"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: \(modeld_session=[0-9a-f]*\).*/\1/p' "$TMP/head")
call 200 - "$S" GET /session -H "Cookie: $COOKIE"

create MORE annotations '{"name": "more reviews", "type": "ABSA", "language": "en"}'
call 201 - "$S" POST "$P/annotations/$MORE/documents" -H "$AUTH" \
     -H 'Content-Type: application/x-ndjson' --data-binary "@$DATA/restaurants_en_more.jsonl"
call 200 - "$S" GET "$P/annotations" -H "$AUTH"
call 200 - "$S" GET "$P/annotations/$SESSION" -H "$AUTH"

# a CLASS session over HTTP with a JSON-array upload, made safe to retry
KEY=contract-$(date +%s)-$$
call 201 - "$S" POST "$P/annotations" -H "$AUTH" -H "$JSON" -H "Idempotency-Key: $KEY" \
     -d '{"name": "Spam", "type": "CLASS", "language": "en"}'
SPAM=$(location_id)
need SPAM
call 201 - "$S" POST "$P/annotations" -H "$AUTH" -H "$JSON" -H "Idempotency-Key: $KEY" \
     -d '{"name": "Spam", "type": "CLASS", "language": "en"}'
grep -qi '^Idempotent-Replayed: true' "$TMP/head" || fail "the retry was not replayed"
[ "$(location_id)" = "$SPAM" ] || fail "the replay names another session"
call 422 idempotency-key-reused "$S" POST "$P/annotations" -H "$AUTH" -H "$JSON" \
     -H "Idempotency-Key: $KEY" -d '{"name": "Ham", "type": "CLASS", "language": "en"}'
call 201 - "$S" POST "$P/annotations/$SPAM/documents" -H "$AUTH" -H "$JSON" \
     -d '[{"text": "Win money now", "class": "spam"}, {"text": "Lunch at noon?", "labels": ["ham"]}]'

create ABSA models "{\"name\": \"absa-v1\", \"language\": \"en\", \"annotation_ids\": [$SESSION, $MORE]}"
follow_events "$ABSA" absa
create CLASS models "{\"name\": \"de-class\", \"annotation_ids\": [$DE], \"language\": \"de\"}"

wait_ready "$ABSA"
wait_ready "$CLASS"

check_events absa READY

call 200 - "$S" POST "$P/models/$ABSA/predict" -H "$AUTH" -H "$JSON" \
     -d '{"texts": ["The pasta was delicious but the waiter was rude."]}'
call 200 - "$S" POST "$P/models/$ABSA/predict" -H "$AUTH" -H "$JSON" \
     -d '{"texts": ["The pasta was delicious but the waiter was rude."], "explain": true}'
call 200 - "$S" POST "$P/models/$CLASS/predict" -H "$AUTH" -H "$JSON" \
     -d '{"texts": ["Das Essen war kalt.", "Sehr freundlich!"], "explain": true}'
call 200 - "$S" GET "$P/models/$ABSA/explanation" -H "$AUTH"
call 200 - "$S" GET "$P/models/$CLASS/explanation" -H "$AUTH"

call 200 - "$S" GET "$P/models" -H "$AUTH"
call 200 - "$S" GET "$P/models?limit=1" -H "$AUTH"
CURSOR=$(body_field next_cursor)
call 200 - "$S" GET "$P/models?limit=1&cursor=$CURSOR&status=READY&type=ABSA&language=en" -H "$AUTH"

call 200 - "$S" PATCH "$P/models/$ABSA" -H "$AUTH" -H "$JSON" \
     -d '{"status": "ACTIVE", "display_name": "Restaurant aspects v1"}'
call 200 - "$S" PATCH "$P/models/$ABSA" -H "$AUTH" -H 'Content-Type: application/merge-patch+json' \
     -d '{"short_description": null}'

# a base model from a trained one (the admin command), then in the catalog
$M base create --db "$DB" --name "Hotel Pre-Trained" --language en --from-model "$ABSA" >/dev/null
call 200 - "$S" GET /base-models -H "$AUTH"

# Cancel: a model trained on a bigger generated set keeps the one worker busy for seconds,
# so the models created after it wait QUEUED: one is canceled, then deleted; the other,
# canceled too, gives the 409s of an untrained model below. Then the busy one is canceled
# while it trains.
awk 'BEGIN { srand(7); split("goal team match coach league player stadium referee", a, " ")
             split("pasta sauce bread cheese dinner recipe soup kitchen", b, " ")
             for (i = 0; i < 4000; i++) { c = i % 2; t = ""
                 for (j = 0; j < 12; j++) t = t " " (c ? a[int(rand() * 8) + 1] : b[int(rand() * 8) + 1]) " w" int(rand() * 20000)
                 printf "{\"text\": \"%s\", \"class\": \"%s\"}\n", t, c ? "sports" : "food" } }' >"$TMP/bulk.jsonl"
create BULK annotations '{"name": "bulk", "type": "CLASS", "language": "en"}'
call 201 - "$S" POST "$P/annotations/$BULK/documents" -H "$AUTH" -H 'Content-Type: application/x-ndjson' \
     --data-binary "@$TMP/bulk.jsonl"
create BUSY models "{\"name\": \"bulk\", \"language\": \"en\", \"annotation_ids\": [$BULK]}"
follow_events "$BUSY" busy
create GONE models "{\"name\": \"to-cancel\", \"language\": \"en\",
                    \"trainset_annotation_ids\": [$SESSION], \"testset_annotation_ids\": [$MORE]}"
create CANCELED models "{\"name\": \"canceled\", \"language\": \"de\", \"annotation_ids\": [$DE]}"
call 200 - "$S" POST "$P/models/$GONE/cancel" -H "$AUTH"
call 200 - "$S" POST "$P/models/$CANCELED/cancel" -H "$AUTH"
[ "$(body_field status)" = FAILED ] || fail "a canceled model is not FAILED: $(head -c 300 "$TMP/body")"
call 204 - "$S" DELETE "$P/models/$GONE" -H "$AUTH"
call 200 - "$S" POST "$P/models/$BUSY/cancel" -H "$AUTH"
check_events busy FAILED

# ---- error cases the spec allows, through the strict proxy -------------------------
# 401 (without any token Prism answers itself: that one goes through the lenient proxy)
call 401 unauthenticated "$S" GET /base-models -H "Authorization: Bearer $REVOKED"
call 401 unauthenticated "$S" GET "$P/models" -H "Authorization: Bearer nonsense"
# 403: below the role, no role, unknown project
call 403 forbidden "$S" POST "$P/models" -H "Authorization: Bearer $VIEWER" -H "$JSON" \
     -d "{\"name\": \"nope\", \"language\": \"en\", \"annotation_ids\": [$SESSION]}"
call 403 forbidden "$S" GET "$P/models" -H "Authorization: Bearer $OUTSIDER"
call 403 forbidden "$S" GET /projects/999999/models -H "$AUTH"
call 403 forbidden "$S" DELETE "$P/models/$ABSA" -H "Authorization: Bearer $VIEWER"
# 404
call 404 not-found "$S" GET "$P/models/999999" -H "$AUTH"
call 404 not-found "$S" GET "$P/models/$GONE/events" -H "$AUTH"
call 404 not-found "$S" GET "$P/annotations/999999" -H "$AUTH"
call 404 not-found "$S" POST "$P/annotations/999999/documents" -H "$AUTH" \
     -H 'Content-Type: application/x-ndjson' --data-binary "@$DATA/restaurants_en_more.jsonl"
call 404 not-found "$S" POST "$P/models/999999/predict" -H "$AUTH" -H "$JSON" -d '{"texts": ["x"]}'
call 404 not-found "$S" PATCH "$P/models/999999" -H "$AUTH" -H "$JSON" -d '{"display_name": "x"}'
call 404 not-found "$S" POST "$P/models/999999/cancel" -H "$AUTH"
call 404 not-found "$S" GET "$P/models/999999/explanation" -H "$AUTH"
call 404 not-found "$S" DELETE "$P/models/999999" -H "$AUTH"
# 409: a READY model cannot be canceled; an untrained (canceled) one neither predicts nor explains
call 409 conflict "$S" POST "$P/models/$CLASS/cancel" -H "$AUTH"
call 409 conflict "$S" POST "$P/models/$CANCELED/predict" -H "$AUTH" -H "$JSON" -d '{"texts": ["x"]}'
call 409 conflict "$S" GET "$P/models/$CANCELED/explanation" -H "$AUTH"
call 409 conflict "$S" POST "$P/models/$CANCELED/cancel" -H "$AUTH"
# 400s whose request the schema allows: semantic checks of the daemon
call 400 invalid-request "$S" POST "$P/models" -H "$AUTH" -H "$JSON" \
     -d "{\"name\": \"absa-v1\", \"language\": \"en\", \"annotation_ids\": [$SESSION]}"
call 400 invalid-request "$S" POST "$P/models" -H "$AUTH" -H "$JSON" \
     -d "{\"name\": \"mixed\", \"language\": \"en\", \"annotation_ids\": [$SESSION, $DE, 999999]}"
call 400 invalid-request "$S" PATCH "$P/models/$CLASS" -H "$AUTH" -H "$JSON" -d '{"status": "PUBLISHED"}'
call 400 invalid-request "$S" GET "$P/models?cursor=bm90LWEtY3Vyc29y" -H "$AUTH"
call 400 invalid-request "$S" POST "$P/annotations/$SPAM/documents" -H "$AUTH" -H "$JSON" \
     -d '[{"text": "no class here"}, {"text": " ", "class": "spam"}]'
call 400 invalid-request "$S" GET "$P/models?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17" -H "$AUTH"
grep -q '"field":"query"' "$TMP/body" || fail "the too-many-query-parameters 400 does not name query"
# 413: a JSON body over 1 MiB that the schema allows (1000 texts of 1.1 KB)
awk 'BEGIN { t = sprintf("%1100s", ""); gsub(/ /, "a", t); printf "{\"texts\": ["
             for (i = 0; i < 1000; i++) printf "%s\"%s\"", i ? ", " : "", t; print "]}" }' >"$TMP/texts.json"
# Without `Expect: 100-continue` (curl adds it to bodies over 1 MiB): Prism
# forwards that header but its client then sends the body without waiting, so
# the daemon's early 413 (allowed by RFC 9110 10.1.1 for an Expect request)
# reaches Prism as a broken pipe. Without Expect the daemon reads and discards
# the body, then answers; curl straight to the daemon gets the early 413 either way.
call 413 content-too-large "$S" POST "$P/models/$ABSA/predict" -H "$AUTH" -H "$JSON" \
     -H 'Expect:' --data-binary "@$TMP/texts.json"
# idempotency 409: the same key while the first request is still running (its body trickles in)
KEY2=slow-$(date +%s)-$$
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "{\"text\": \"document number %d\", \"class\": \"spam\"}\n", i }' >"$TMP/slow.jsonl"
curl -sS -o "$TMP/slow.out" --limit-rate 40k -X POST "$UP$P/annotations/$SPAM/documents" -H "$AUTH" \
     -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $KEY2" --data-binary "@$TMP/slow.jsonl" &
SLOW=$!
sleep 1
call 409 idempotency-key-in-use "$S" POST "$P/annotations/$SPAM/documents" -H "$AUTH" \
     -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: $KEY2" --data-binary "@$TMP/slow.jsonl"
grep -qi '^Retry-After: 1' "$TMP/head" || fail "the in-use 409 has no Retry-After: 1"
wait "$SLOW" || fail "the slow upload failed: $(cat "$TMP/slow.out")"
# 500: a READY model whose artifact is gone (never loaded before, so not cached)
create LOST models "{\"name\": \"lost\", \"language\": \"de\", \"annotation_ids\": [$DE]}"
wait_ready "$LOST"
LOST_UUID=$(body_field uuid)
rm -f "$TMP/artifacts/models/$LOST_UUID.model"
call 500 internal-error "$S" POST "$P/models/$LOST/predict" -H "$AUTH" -H "$JSON" -d '{"texts": ["x"]}'

# ---- requests the spec forbids, through the lenient proxy ---------------------------
call 401 unauthenticated "$L" GET /base-models
grep -qi '^WWW-Authenticate: Bearer realm="modeld"' "$TMP/head" || fail "the 401 has no WWW-Authenticate"
call 400 invalid-request "$L" POST "$P/models" -H "$AUTH" -H "$JSON" -d '{"nam": "x"}'
# (a body that is not JSON at all Prism answers itself, even lenient: straight to the daemon)
call 400 invalid-request "$UP" POST "$P/models" -H "$AUTH" -H "$JSON" -d '{"name": "x",'
call 400 invalid-request "$L" POST "$P/models" -H "$AUTH" -H "$JSON" -d '[1, 2]'
call 400 invalid-request "$L" POST "$P/models" -H "$AUTH" -H "$JSON" --data-binary ''
call 400 invalid-request "$L" POST "$P/annotations" -H "$AUTH" -H "$JSON" \
     -d '{"name": "x", "type": "NOPE", "language": "xx"}'
call 400 invalid-request "$L" POST "$P/models/$ABSA/predict" -H "$AUTH" -H "$JSON" -d '{"texts": []}'
call 400 invalid-request "$L" PATCH "$P/models/$ABSA" -H "$AUTH" -H "$JSON" -d '{}'
call 400 invalid-request "$L" GET "$P/models?limit=0&status=NOPE" -H "$AUTH"
call 400 invalid-request "$L" POST "$P/annotations" -H "$AUTH" -H "$JSON" -H 'Idempotency-Key: "unterminated' \
     -d '{"name": "x", "type": "CLASS", "language": "en"}'
call 415 unsupported-media-type "$L" POST "$P/models" -H "$AUTH" -H 'Content-Type: text/plain' -d 'x'
call 415 unsupported-media-type "$L" POST "$P/models/$ABSA/predict" -H "$AUTH" -d '{"texts": ["x"]}'
# no route, or not this method: Prism cannot match these, so the daemon's answer is checked here
call 404 not-found "$L" GET /nothing -H "$AUTH"
call 404 not-found "$L" GET "$P/models/0001" -H "$AUTH"
call 405 method-not-allowed "$L" PUT "$P/models/$ABSA" -H "$AUTH" -H "$JSON" -d '{}'
grep -qi '^Allow: GET, HEAD, PATCH, DELETE' "$TMP/head" || fail "the 405 has no Allow header"
call 405 method-not-allowed "$L" DELETE /health

# ---- the verdict ---------------------------------------------------------------------
if grep -E 'Violation|Request terminated with error' "$TMP/strict.log" >"$TMP/strict.bad"; then
    fail "the strict proxy reported violations:"
    head -40 "$TMP/strict.bad" >&2
fi
if grep -E 'Violation: response' "$TMP/lenient.log" >"$TMP/lenient.bad"; then
    fail "responses break the spec (lenient proxy):"
    head -40 "$TMP/lenient.bad" >&2
fi
grep -q 'Violation: request' "$TMP/lenient.log" ||
    fail "the lenient proxy saw no invalid request: is it validating at all?"

echo "contract: $CHECKS checks, $FAILS failed, $(($(date +%s) - T0)) s"
[ "$FAILS" -eq 0 ]
