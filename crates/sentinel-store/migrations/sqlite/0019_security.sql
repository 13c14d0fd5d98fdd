-- Sign-in failures per account (staff name or sentinel phone/e-mail), shared by
-- every node: the throttle in sentinel_core::throttle. Times in ms since 1970.
CREATE TABLE sign_in_throttle (
    account       TEXT    PRIMARY KEY,
    failures      INTEGER NOT NULL,
    first_at      INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    locked_until  INTEGER
);

-- Kept answers no longer hold a reporter_key in clear (it is sealed under the
-- client's Idempotency-Key, whose hash is the lookup key): drop the clear ones
-- written before.
UPDATE idempotency_keys SET response = json_remove(response, '$.reporter_key')
 WHERE json_valid(response) AND json_type(response, '$.reporter_key') = 'text';

-- Readiness: each node writes its row here to prove it can take writes.
CREATE TABLE write_probes (
    node  TEXT    PRIMARY KEY,
    at    INTEGER NOT NULL
);
