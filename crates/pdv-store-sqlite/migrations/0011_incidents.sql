-- pdvault schema, version 11: the register of incidents (ст. 21 ч. 3.1 152-ФЗ).
--
-- Append-only, like the request journal: an incident row is written once, at registration;
-- what happens to it afterwards (the first notice sent, the investigation's findings, the
-- results notice sent, closing or dismissing it) is a numbered entry, and its status is its last
-- entry's. The 24 and 72 hours run from detected_at, so times, counts and categories are in
-- clear; what happened, the causes, harm, measures and the contact person, and each entry's
-- particulars, are ciphertext under the journal key (they may name staff). occurred_at is when a
-- notice was actually sent, which may be before it was recorded.

CREATE TABLE incidents (
    incident_id   BLOB PRIMARY KEY CHECK (length(incident_id) = 16),
    year          INTEGER NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq > 0),
    detected_at   INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    registered_by TEXT NOT NULL,
    categories    TEXT NOT NULL,
    subjects      INTEGER NOT NULL CHECK (subjects >= 0),
    identifiers   INTEGER NOT NULL CHECK (identifiers >= 0),
    details_ct    BLOB NOT NULL,
    UNIQUE (year, seq)
) STRICT;

CREATE TABLE incident_entries (
    incident_id BLOB NOT NULL REFERENCES incidents (incident_id),
    entry_no    INTEGER NOT NULL CHECK (entry_no > 0),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    step        TEXT NOT NULL,
    status      TEXT NOT NULL,
    occurred_at INTEGER,
    details_ct  BLOB,
    PRIMARY KEY (incident_id, entry_no)
) STRICT;
