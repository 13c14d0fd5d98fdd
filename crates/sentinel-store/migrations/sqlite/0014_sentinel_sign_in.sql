-- Sentinel sign-up codes (SHA-256 of the code, with an expiry and a count of wrong
-- tries) and browser sessions (SHA-256 of the session id).
CREATE TABLE sentinel_codes (
    sentinel_id  INTEGER PRIMARY KEY REFERENCES sentinels (id),
    code_hash    TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sentinel_sessions (
    id_hash      TEXT    PRIMARY KEY,
    sentinel_id  INTEGER NOT NULL REFERENCES sentinels (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE INDEX reports_account ON reports (account, id) WHERE account IS NOT NULL;
