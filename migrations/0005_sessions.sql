-- SPDX-License-Identifier: MIT
-- Browser sessions (POST /session): a session is signed in with a token and
-- lives in an HttpOnly cookie. Like tokens, the cookie's id and the CSRF
-- token are stored only as BLAKE2b-256 hashes (hex). A session names the
-- token it came from, and every request by cookie checks that token again
-- (revoked, expired, its user's state), so revoking the token ends the
-- session. expires_at is unix seconds; expired rows are purged whenever a
-- session is created.
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id   INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    csrf_hash  TEXT NOT NULL,
    created    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_token ON sessions (token_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
