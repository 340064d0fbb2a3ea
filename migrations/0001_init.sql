-- SPDX-License-Identifier: MIT
-- Initial schema. Portable SQL where it costs nothing (timestamps are RFC 3339
-- UTC text written by the application, booleans are 0/1 integers). Ids that
-- clients see are AUTOINCREMENT so a deleted model's id is never reused (a
-- PostgreSQL schema uses GENERATED ALWAYS AS IDENTITY for the same guarantee).
CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created     TEXT NOT NULL
);

CREATE TABLE projects (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    created      TEXT NOT NULL
);

CREATE TABLE users (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
    created   TEXT NOT NULL
);

-- Tokens are stored only as a BLAKE2b-256 hash (hex) of the token text.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    hash       TEXT NOT NULL UNIQUE,
    created    TEXT NOT NULL,
    expires_at INTEGER,            -- unix seconds, NULL = never
    revoked_at TEXT
);

CREATE TABLE members (
    project_id INTEGER NOT NULL REFERENCES projects(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL CHECK (role IN ('VIEWER', 'ANNOTATOR', 'MANAGER', 'OWNER')),
    PRIMARY KEY (project_id, user_id)
);

-- Labeling sessions.
CREATE TABLE annotations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    name       TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('ABSA', 'CLASS', 'LABEL', 'CLASSLABEL')),
    language   TEXT NOT NULL CHECK (language IN ('en', 'de', 'ar')),
    created_by INTEGER REFERENCES users(id),
    created    TEXT NOT NULL
);
CREATE INDEX annotations_project ON annotations (project_id, id);

-- labels and aspects are JSON arrays as text.
CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    external_id   TEXT,
    text          TEXT NOT NULL,
    class         TEXT,
    labels        TEXT,
    aspects       TEXT
);
CREATE INDEX documents_annotation ON documents (annotation_id, id);

-- Trained models and, with type BASE and no project, the global base catalog.
CREATE TABLE models (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid              TEXT NOT NULL UNIQUE,
    workspace_id      INTEGER REFERENCES workspaces(id),
    project_id        INTEGER REFERENCES projects(id),
    name              TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    language          TEXT NOT NULL CHECK (language IN ('en', 'de', 'ar')),
    type              TEXT NOT NULL CHECK (type IN ('BASE', 'ABSA', 'CLASS', 'LABEL', 'CLASSLABEL')),
    base_id           INTEGER REFERENCES models(id) ON DELETE SET NULL,
    base_name         TEXT,
    owner_id          INTEGER REFERENCES users(id),
    status            TEXT NOT NULL CHECK (status IN ('CREATED', 'QUEUED', 'TRAINING', 'FAILED',
                                                      'READY', 'ACTIVE', 'PUBLISHED')),
    progress          REAL NOT NULL DEFAULT 0,
    score             REAL,
    metrics           TEXT,
    failure_reason    TEXT,
    short_description TEXT,
    long_description  TEXT,
    artifact          TEXT,
    created           TEXT NOT NULL,
    updated           TEXT NOT NULL,
    queued_at         TEXT,
    started_at        TEXT,
    finished_at       TEXT
);
CREATE UNIQUE INDEX models_workspace_name ON models (workspace_id, name) WHERE workspace_id IS NOT NULL;
CREATE UNIQUE INDEX models_base_name ON models (name) WHERE type = 'BASE';
CREATE INDEX models_project ON models (project_id, id);
CREATE INDEX models_status ON models (status, queued_at);

-- The labeling sessions a model is trained from; role: all (auto split), train, test.
CREATE TABLE model_annotations (
    model_id      INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    annotation_id INTEGER NOT NULL REFERENCES annotations(id),
    role          TEXT NOT NULL CHECK (role IN ('all', 'train', 'test')),
    PRIMARY KEY (model_id, annotation_id)
);
