-- Open311: client applications with their API keys (SHA-256 of the secret), the
-- tokens answered to POST requests for batch services, and media links.
CREATE TABLE open311_clients (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    key_hash    TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE open311_tokens (
    token       TEXT    PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id),
    client_id   INTEGER NOT NULL REFERENCES open311_clients (id),
    created_at  INTEGER NOT NULL
);

-- Links to media the reporter's app holds (Open311 media_url): kept as links.
ALTER TABLE reports ADD COLUMN media_urls TEXT NOT NULL DEFAULT '[]';
