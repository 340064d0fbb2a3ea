-- SPDX-License-Identifier: MIT
-- The shared training queue: daemons, leases and fencing (docs/DESIGN.md,
-- "The queue protocol").
--
-- daemons: one row per running daemon (a random id per process); lease_until
-- (unix milliseconds) is renewed by its heartbeat every third of the lease. A
-- daemon whose lease has expired is gone: its rows are deleted by the next
-- rescue, its jobs taken back, its staged uploads removed.
-- models.owner_daemon / lease_until: who trains a TRAINING row and until when
-- (renewed with the daemon's). models.attempt: the claims so far, the fencing
-- token every write of a worker about its job checks. models.abandoned: how
-- many of those claims ended with an expired lease; at --max-attempts the
-- rescue fails the job instead of queuing it again.
-- uploads.daemon_id: the daemon that stages an unpublished upload.
-- idempotency_keys rows with status 0 mark a key whose request is in
-- progress on daemon_id (request_hash and body empty); the answer replaces
-- the mark, and the mark of a gone daemon is taken over.
CREATE TABLE daemons (
    id          TEXT PRIMARY KEY,
    started     INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);

ALTER TABLE models ADD COLUMN owner_daemon TEXT;
ALTER TABLE models ADD COLUMN lease_until INTEGER;
ALTER TABLE models ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX models_owner ON models (owner_daemon) WHERE owner_daemon IS NOT NULL;

ALTER TABLE uploads ADD COLUMN daemon_id TEXT;

ALTER TABLE idempotency_keys ADD COLUMN daemon_id TEXT;
