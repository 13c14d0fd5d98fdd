-- Sentinels (citizen accounts) and their groups. A phone or an email is required;
-- both are unique. Group membership is requested, then approved or declined.
CREATE TABLE sentinels (
    id             INTEGER PRIMARY KEY,
    handle         TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    phone          TEXT    UNIQUE,
    email          TEXT    UNIQUE COLLATE NOCASE,
    password_hash  TEXT    NOT NULL,
    verified_at    INTEGER,
    created_at     INTEGER NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

CREATE TABLE sentinel_groups (
    sentinel_id   INTEGER NOT NULL REFERENCES sentinels (id),
    group_code    TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    TEXT,
    PRIMARY KEY (sentinel_id, group_code)
);
CREATE INDEX sentinel_groups_by_status ON sentinel_groups (status, group_code);
