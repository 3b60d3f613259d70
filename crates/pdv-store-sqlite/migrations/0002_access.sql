-- pdvault schema, version 2: who may use the vault. Staff accounts with Argon2id password hashes,
-- their sessions (found by the SHA-256 of the bearer token; the token itself is never stored) and
-- integration API keys (SHA-256 of the secret, with the purposes and categories they are limited
-- to, as JSON arrays). None of these tables holds data subjects' personal data.

CREATE TABLE staff_users (
    user_id         BLOB PRIMARY KEY CHECK (length(user_id) = 16),
    login           TEXT NOT NULL UNIQUE,
    full_name       TEXT NOT NULL,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    INTEGER,
    disabled_at     INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE staff_sessions (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    BLOB NOT NULL REFERENCES staff_users (user_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

CREATE TABLE api_keys (
    key_id      BLOB PRIMARY KEY CHECK (length(key_id) = 16),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    purposes    TEXT NOT NULL,
    categories  TEXT NOT NULL,
    secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) STRICT;
