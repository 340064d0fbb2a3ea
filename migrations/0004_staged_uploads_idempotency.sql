-- SPDX-License-Identifier: MIT
-- Staged uploads and idempotent retries.
--
-- An upload writes its documents in small transactions as rows readers do
-- not see (documents.upload_id names an upload whose published is 0), then
-- makes them visible with one small commit (uploads.published = 1, the label
-- counts staged in upload_labels merged into annotation_labels, the
-- session's document_count raised). Rows of uploads never published (a crash
-- or a stop mid-upload) are deleted at the next start. Documents stored
-- before this migration have upload_id NULL and are visible.
CREATE TABLE uploads (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    published     INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    documents     INTEGER NOT NULL DEFAULT 0,
    created       TEXT NOT NULL
);
CREATE INDEX uploads_unpublished ON uploads (id) WHERE published = 0;

CREATE TABLE upload_labels (
    upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('class', 'label', 'category', 'polarity')),
    name      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (upload_id, kind, name)
);

ALTER TABLE documents ADD COLUMN upload_id INTEGER REFERENCES uploads(id);
CREATE INDEX documents_upload ON documents (upload_id) WHERE upload_id IS NOT NULL;

-- Published documents of a session, kept with the publish commit so reading a
-- session never counts its rows.
ALTER TABLE annotations ADD COLUMN document_count INTEGER NOT NULL DEFAULT 0;
UPDATE annotations SET document_count =
    (SELECT COUNT(*) FROM documents d WHERE d.annotation_id = annotations.id);

-- Idempotency-Key records: the answer of a request whose work committed,
-- stored in the same transaction as that work, replayed to a retry of the
-- same caller with the same key and the same request (request_hash: BLAKE2b
-- of method, path and body) for 24 hours.
CREATE TABLE idempotency_keys (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    location     TEXT,
    body         TEXT NOT NULL,
    created      INTEGER NOT NULL, -- unix seconds
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
