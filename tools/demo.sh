#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run`: a fresh demo database under ./var with a workspace, a project, a
# demo user (OWNER) and token, three labeling sessions written by this project
# (English ABSA (two sessions), German and Arabic classes, tools/demo-data/), then serve on
# 127.0.0.1:8080 (override with PORT=...). The demo lives in a folder of its
# own, var/demo/ (its database and its artifacts folder); it is recreated on
# every run, and the demo removes only the files it made there: your own
# databases and artifacts (e.g. var/my.db, var/artifacts/) are never touched.
# tools/run-pg.sh (`make run-pg`) loads the same data into a fresh PostgreSQL
# database: DEMO_DB=<its URI> DEMO_SETUP_ONLY=1 (no file removed, no serve).
set -eu
BIN=${1:-build/modeld}
PORT=${PORT:-8080}
DIR=var/demo
DB=${DEMO_DB:-$DIR/demo.db}
ART=$DIR/artifacts
DATA=tools/demo-data

if [ -z "${DEMO_DB:-}" ]; then
    mkdir -p "$DIR" "$ART"
    rm -f "$DB" "$DB-wal" "$DB-shm"
    for f in "$ART"/*.model; do
        if [ -e "$f" ]; then rm -f "$f"; fi
    done
fi

"$BIN" migrate --db "$DB" >/dev/null
WS=$("$BIN" workspace create --db "$DB" --name "Demo workspace")
PROJECT=$("$BIN" project create --db "$DB" --workspace "$WS" --name "Demo project")
USER_ID=$("$BIN" user create --db "$DB" --name demo)
TOKEN=$("$BIN" token create --db "$DB" --user "$USER_ID")
"$BIN" member add --db "$DB" --project "$PROJECT" --user "$USER_ID" --role OWNER >/dev/null
EN=$("$BIN" annotations import --db "$DB" --project "$PROJECT" --name "Restaurant reviews (en)" \
    --type ABSA --language en "$DATA/restaurants_en.jsonl")
EN2=$("$BIN" annotations import --db "$DB" --project "$PROJECT" --name "More restaurant reviews (en)" \
    --type ABSA --language en "$DATA/restaurants_en_more.jsonl")
DE=$("$BIN" annotations import --db "$DB" --project "$PROJECT" --name "Bewertungen (de)" \
    --type CLASS --language de "$DATA/reviews_de.jsonl")
AR=$("$BIN" annotations import --db "$DB" --project "$PROJECT" --name "مراجعات (ar)" \
    --type CLASS --language ar "$DATA/reviews_ar.jsonl")

cat <<MSG

modeld demo
  database:  $DB
  project:   $PROJECT   labeling sessions: en ABSA=$EN,$EN2  de CLASS=$DE  ar CLASS=$AR
  token:     $TOKEN

Train a model, then read it:
  export TOKEN=$TOKEN
  curl -s -X POST http://127.0.0.1:$PORT/projects/$PROJECT/models \\
       -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"name": "demo-absa", "language": "en", "annotation_ids": [$EN, $EN2]}'
  curl -s http://127.0.0.1:$PORT/projects/$PROJECT/models/1 -H "Authorization: Bearer \$TOKEN"

Stop with Ctrl-C.

MSG
if [ -n "${DEMO_SETUP_ONLY:-}" ]; then
    exit 0
fi
exec "$BIN" serve --db "$DB" --data-dir "$ART" --bind 127.0.0.1 --port "$PORT"
