-- pdvault schema, version 7, for PostgreSQL: category keys and tombstones, the record's scope, and
-- destruction acts (see the SQLite migration of the same version for why).

CREATE TABLE category_keys (
    subject_id  bytea NOT NULL CHECK (octet_length(subject_id) = 16),
    category    text NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (subject_id, category)
);

CREATE TABLE category_tombstones (
    subject_id   bytea NOT NULL CHECK (octet_length(subject_id) = 16),
    category     text NOT NULL,
    destroyed_at bigint NOT NULL,
    PRIMARY KEY (subject_id, category)
);

ALTER TABLE pd_records ADD COLUMN scope text;

CREATE TABLE destruction_acts (
    act_id     bytea PRIMARY KEY CHECK (octet_length(act_id) = 16),
    year       integer NOT NULL,
    seq        bigint NOT NULL CHECK (seq > 0),
    opened_at  bigint NOT NULL,
    trigger    text NOT NULL,
    header_ct  bytea NOT NULL,
    closed_at  bigint,
    entries    bigint,
    sha256     text,
    expires_on text,
    expired_at bigint,
    UNIQUE (year, seq)
);

CREATE TABLE destruction_act_entries (
    act_id     bytea NOT NULL REFERENCES destruction_acts (act_id),
    entry_no   bigint NOT NULL,
    subject_id bytea NOT NULL CHECK (octet_length(subject_id) = 16),
    at         bigint NOT NULL,
    body_ct    bytea NOT NULL,
    PRIMARY KEY (act_id, entry_no)
);
