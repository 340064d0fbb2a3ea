-- SPDX-License-Identifier: MIT
-- Administration and the authentication cache (PostgreSQL edition of
-- migrations/0006_admin.sql).
--
-- users.disabled: a disabled user's tokens (and the browser sessions made
-- from them) stop working; the user and what they made stay.
-- tokens.last_used: unix seconds of the token's last use, written at most
-- once a minute per token (NULL: never used since this migration).
-- auth_epoch: one row whose value grows with every change that can take a
-- right away (a token revoked or its expiry changed, a user disabled or made
-- read-only, a membership added, changed or removed), bumped by the triggers
-- below in the transaction of the change, whoever writes it (any daemon or
-- the admin CLI). The same trigger function sends a notification on channel
-- modeld_auth (delivered at commit, once per transaction), so every daemon
-- listening empties its cache at once instead of at its next epoch read.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE tokens ADD COLUMN last_used BIGINT;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE auth_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

-- Row triggers like SQLite's: one bump per changed row, none when a
-- statement changes no row.
CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
    PERFORM pg_notify('modeld_auth', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER auth_epoch_token_update AFTER UPDATE OF revoked_at, expires_at, user_id, hash
ON tokens FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_token_delete AFTER DELETE ON tokens
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_user_update AFTER UPDATE OF read_only, disabled, name ON users
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_user_delete AFTER DELETE ON users
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_member_insert AFTER INSERT ON members
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_member_update AFTER UPDATE ON members
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_member_delete AFTER DELETE ON members
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_project_delete AFTER DELETE ON projects
FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
