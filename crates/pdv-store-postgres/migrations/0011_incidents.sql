-- pdvault schema, version 11, for PostgreSQL: the register of incidents (ст. 21 ч. 3.1 152-ФЗ).
-- The same tables as SQLite's version 11 (see there for the reasoning): append-only incidents
-- and their numbered entries.

CREATE TABLE incidents (
    incident_id   bytea PRIMARY KEY CHECK (octet_length(incident_id) = 16),
    year          integer NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    detected_at   bigint NOT NULL,
    registered_at bigint NOT NULL,
    registered_by text NOT NULL,
    categories    text[] NOT NULL,
    subjects      bigint NOT NULL CHECK (subjects >= 0),
    identifiers   bigint NOT NULL CHECK (identifiers >= 0),
    details_ct    bytea NOT NULL,
    UNIQUE (year, seq)
);

CREATE TABLE incident_entries (
    incident_id bytea NOT NULL REFERENCES incidents (incident_id),
    entry_no    bigint NOT NULL CHECK (entry_no > 0),
    at          bigint NOT NULL,
    actor       text NOT NULL,
    step        text NOT NULL,
    status      text NOT NULL,
    occurred_at bigint,
    details_ct  bytea,
    PRIMARY KEY (incident_id, entry_no)
);
