-- pdvault schema, version 2 (the same version as SQLite's 0002): who may use the vault. Staff
-- accounts with Argon2id password hashes, their sessions (found by the SHA-256 of the bearer
-- token; the token itself is never stored) and integration API keys (SHA-256 of the secret, with
-- the purposes and categories they are limited to). None of these tables holds data subjects'
-- personal data, so none is keyed by subject.

CREATE TABLE staff_users (
    user_id       bytea PRIMARY KEY CHECK (octet_length(user_id) = 16),
    login         text COLLATE "C" NOT NULL UNIQUE,
    full_name     text NOT NULL,
    role          text NOT NULL,
    password_hash text NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  bigint,
    disabled_at   bigint,
    created_at    bigint NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    bytea NOT NULL REFERENCES staff_users (user_id),
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);

CREATE INDEX staff_sessions_by_user ON staff_sessions (user_id);

CREATE TABLE api_keys (
    key_id      bytea PRIMARY KEY CHECK (octet_length(key_id) = 16),
    name        text NOT NULL,
    role        text NOT NULL,
    purposes    text[] NOT NULL,
    categories  text[] NOT NULL,
    secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_by  text NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint,
    revoked_at  bigint
);

-- Security events (logins, key management, refused credentials) process no subject's data and so
-- name no operation of the closed list: the operation becomes optional. The CHECK still holds
-- for every value that is present.
ALTER TABLE audit_events ALTER COLUMN operation DROP NOT NULL;
