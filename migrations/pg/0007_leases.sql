-- SPDX-License-Identifier: MIT
-- The shared training queue: daemons, leases and fencing (PostgreSQL edition
-- of migrations/0007_leases.sql; docs/DESIGN.md, "The queue protocol").
--
-- daemons: one row per running daemon (a random id per process); lease_until
-- (unix milliseconds, the server's clock) is renewed by its heartbeat every
-- third of the lease. A daemon whose lease has expired is gone: its row is
-- deleted by the next rescue, its jobs taken back, its staged uploads removed.
-- models.owner_daemon / lease_until: who trains a TRAINING row and until when.
-- models.attempt: the claims so far, the fencing token every write of a
-- worker about its job checks. models.abandoned: claims that ended with an
-- expired lease; at --max-attempts the rescue fails the job.
-- uploads.daemon_id: the daemon that stages an unpublished upload.
-- idempotency_keys rows with status 0 mark a key whose request is in
-- progress on daemon_id; the answer replaces the mark, and the mark of a
-- gone daemon is taken over.
CREATE TABLE daemons (
    id          TEXT COLLATE "C" PRIMARY KEY,
    started     BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

ALTER TABLE models ADD COLUMN owner_daemon TEXT COLLATE "C";
ALTER TABLE models ADD COLUMN lease_until BIGINT;
ALTER TABLE models ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN abandoned BIGINT NOT NULL DEFAULT 0;
CREATE INDEX models_owner ON models (owner_daemon) WHERE owner_daemon IS NOT NULL;

ALTER TABLE uploads ADD COLUMN daemon_id TEXT COLLATE "C";
ALTER TABLE idempotency_keys ADD COLUMN daemon_id TEXT COLLATE "C";

-- The trained artifacts, so that every daemon can load every model: written
-- in the transaction that marks the model READY (fenced by its attempt),
-- checked against their BLAKE2b-256 checksum (hex) when a daemon copies one
-- into its local cache.
CREATE TABLE model_artifacts (
    model_id BIGINT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    bytes    BYTEA NOT NULL,
    checksum TEXT COLLATE "C" NOT NULL
);
