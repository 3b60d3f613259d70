-- pdvault schema, version 5, for PostgreSQL: the outbox (see the SQLite migration of the same
-- version): answers and notices queued for the operator's own mail or SMS integration.

CREATE TABLE outbox (
    message_id bytea PRIMARY KEY CHECK (octet_length(message_id) = 16),
    created_at bigint NOT NULL,
    request_id bytea CHECK (request_id IS NULL OR octet_length(request_id) = 16),
    kind       text NOT NULL,
    channel    text NOT NULL,
    address_ct bytea NOT NULL,
    body_ct    bytea NOT NULL,
    status     text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    status_at  bigint NOT NULL,
    note       text
);
CREATE INDEX outbox_by_status ON outbox (status, created_at);
