-- SPDX-License-Identifier: MIT
-- Administration and the authentication cache.
--
-- users.disabled: a disabled user's tokens (and the browser sessions made
-- from them) stop working; the user and what they made stay.
-- tokens.last_used: unix seconds of the token's last use, written at most
-- once a minute per token (NULL: never used since this migration).
-- auth_epoch: one row whose value grows with every change that can take a
-- right away (a token revoked or its expiry changed, a user disabled or made
-- read-only, a membership added, changed or removed), bumped by the triggers
-- below in the transaction of the change, whoever writes it (the daemon or
-- the admin CLI in another process). The daemon caches callers and roles and
-- reads this row every ~200 ms: a new value empties its cache.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE tokens ADD COLUMN last_used INTEGER;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE auth_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER auth_epoch_token_update AFTER UPDATE OF revoked_at, expires_at, user_id, hash
ON tokens BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_token_delete AFTER DELETE ON tokens BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_user_update AFTER UPDATE OF read_only, disabled, name ON users BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_user_delete AFTER DELETE ON users BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_member_insert AFTER INSERT ON members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_member_update AFTER UPDATE ON members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_member_delete AFTER DELETE ON members BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_project_delete AFTER DELETE ON projects BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
