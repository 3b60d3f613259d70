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

-- Security events (logins, key management, refused credentials) process no subject's data and so
-- name no operation of the closed list: the audit log's operation column becomes optional.
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt with the same rows.
CREATE TABLE audit_events_v2 (
    seq        INTEGER PRIMARY KEY CHECK (seq > 0),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    operation  TEXT CHECK (operation IN ('collection', 'recording', 'systematisation',
        'accumulation', 'storage', 'rectification', 'extraction', 'use', 'transfer', 'matching',
        'depersonalisation', 'blocking', 'deletion', 'destruction')),
    purpose    TEXT,
    subject_id BLOB,
    outcome    TEXT NOT NULL CHECK (outcome IN ('done', 'denied')),
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash       BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
INSERT INTO audit_events_v2 SELECT * FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
