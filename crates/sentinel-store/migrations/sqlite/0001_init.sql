-- Reports (工单). Times are Unix milliseconds (UTC).
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    tracking_code   TEXT    NOT NULL UNIQUE,
    category        TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    lat             REAL    NOT NULL,
    lon             REAL    NOT NULL,
    accuracy_m      REAL,
    address         TEXT,
    attributes      TEXT    NOT NULL DEFAULT '{}',
    photos          TEXT    NOT NULL DEFAULT '[]',
    reporter_kind   TEXT    NOT NULL,
    contact_name    TEXT,
    contact_phone   TEXT,
    contact_email   TEXT,
    account         TEXT,
    channel         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    department      TEXT,
    co_departments  TEXT    NOT NULL DEFAULT '[]',
    assignee        TEXT,
    merged_into     INTEGER REFERENCES reports(id),
    supporters      INTEGER NOT NULL DEFAULT 1,
    observed_at     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    closed_at       INTEGER
);
CREATE INDEX reports_status ON reports(status, id);
CREATE INDEX reports_category ON reports(category, id);
CREATE INDEX reports_department ON reports(department, id);
CREATE INDEX reports_created ON reports(created_at);

-- The append-only timeline. Never updated, never deleted.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    actor_role  TEXT,
    action      TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT,
    data        TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_report ON events(report_id, id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Stored photo files, by content hash.
CREATE TABLE photos (
    id          TEXT    PRIMARY KEY,
    mime        TEXT    NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Idempotency keys: the first response is kept and replayed.
CREATE TABLE idempotency_keys (
    key           TEXT    PRIMARY KEY,
    request_hash  TEXT    NOT NULL,
    report_id     INTEGER NOT NULL REFERENCES reports(id),
    response      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    department     TEXT,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

-- Bearer tokens, stored as SHA-256 of the secret.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    label       TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);

-- Browser sessions, stored as SHA-256 of the cookie value.
CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Every staff read of personal data.
CREATE TABLE personal_data_access (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_name   TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    report_id   INTEGER NOT NULL,
    fields      TEXT    NOT NULL,
    purpose     TEXT    NOT NULL
);
CREATE INDEX personal_data_access_report ON personal_data_access(report_id);
