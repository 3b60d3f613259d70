-- pdvault schema, version 9: records kept depersonalised past their retention period.
--
-- A rule whose action at expiry is "depersonalise" (seed 8.2: afterwards only depersonalised
-- data may remain) leaves, for each record it ends, one row here before the record is destroyed:
-- the subject's kind, the category, the rule, and the record's fields with direct identifiers
-- removed and quasi-identifiers generalised (Приказ Роскомнадзора № 140), as ciphertext under
-- the retained-records key. Nothing links a row to its subject: no subject id, no pseudonym.
CREATE TABLE retained_records (
    retained_id       bytea PRIMARY KEY CHECK (octet_length(retained_id) = 16),
    kind              text NOT NULL,
    category          text NOT NULL,
    rule              text NOT NULL,
    fields_ct         bytea NOT NULL,
    depersonalised_at bigint NOT NULL
);
