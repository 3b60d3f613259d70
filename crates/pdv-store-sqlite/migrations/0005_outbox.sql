-- pdvault schema, version 5: the outbox. Answers and notices to subjects and recipients are
-- queued here, never sent by pdvault itself: the operator's mail or SMS integration reads the
-- queue through the API and reports each message sent or failed. Address and text are ciphertext
-- under the journal key; request_id ties a message to the journal entry that produced it.

CREATE TABLE outbox (
    message_id BLOB PRIMARY KEY CHECK (length(message_id) = 16),
    created_at INTEGER NOT NULL,
    request_id BLOB CHECK (request_id IS NULL OR length(request_id) = 16),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    address_ct BLOB NOT NULL,
    body_ct    BLOB NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    status_at  INTEGER NOT NULL,
    note       TEXT
) STRICT;
CREATE INDEX outbox_by_status ON outbox (status, created_at);
