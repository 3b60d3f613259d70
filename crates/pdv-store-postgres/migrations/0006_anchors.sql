-- pdvault schema, version 6, for PostgreSQL: the events retention periods count from (see the
-- SQLite migration of the same version).

CREATE TABLE anchor_events (
    subject_id  bytea NOT NULL REFERENCES subjects (subject_id),
    event_id    bytea NOT NULL CHECK (octet_length(event_id) = 16),
    event       text NOT NULL,
    scope       text,
    purpose     text,
    occurred_on text NOT NULL,
    recorded_at bigint NOT NULL,
    PRIMARY KEY (subject_id, event_id)
);
