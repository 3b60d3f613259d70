-- pdvault schema, version 4, for PostgreSQL: the request journal. The same tables as SQLite's
-- version 4 (see there for the reasoning): append-only requests and their numbered entries.

CREATE TABLE requests (
    request_id  bytea PRIMARY KEY CHECK (octet_length(request_id) = 16),
    year        integer NOT NULL,
    seq         bigint NOT NULL CHECK (seq > 0),
    kind        text NOT NULL,
    channel     text NOT NULL,
    subject_id  bytea CHECK (subject_id IS NULL OR octet_length(subject_id) = 16),
    received_at bigint NOT NULL,
    rule        text NOT NULL,
    due         text NOT NULL,
    calendar    text NOT NULL,
    provisional integer NOT NULL CHECK (provisional IN (0, 1)),
    details_ct  bytea NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX requests_by_subject ON requests (subject_id);

CREATE TABLE request_entries (
    request_id bytea NOT NULL REFERENCES requests (request_id),
    entry_no   bigint NOT NULL CHECK (entry_no > 0),
    at         bigint NOT NULL,
    actor      text NOT NULL,
    step       text NOT NULL,
    status     text NOT NULL,
    due        text,
    details_ct bytea,
    PRIMARY KEY (request_id, entry_no)
);
