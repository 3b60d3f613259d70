-- pdvault schema, version 8: destruction in two steps, the key shred and the sweep; see the
-- SQLite migration of the same number for the reasoning.
CREATE TABLE sweep_queue (
    subject_id  bytea PRIMARY KEY CHECK (octet_length(subject_id) = 16),
    shredded_at bigint NOT NULL
);
