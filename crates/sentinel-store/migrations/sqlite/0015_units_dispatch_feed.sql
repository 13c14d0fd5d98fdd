-- Field units with their latest position and current dispatch.
CREATE TABLE units (
    id           INTEGER PRIMARY KEY,
    callsign     TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    tracker_id   TEXT    UNIQUE,
    user_name    TEXT,
    department   TEXT,
    status       TEXT    NOT NULL,
    lat          REAL,
    lon          REAL,
    accuracy_m   REAL,
    speed_mps    REAL,
    bearing      REAL,
    position_at  INTEGER,
    dispatch_id  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX units_user ON units (user_name) WHERE user_name IS NOT NULL;

-- Every position received, for tracks and response-time analysis.
CREATE TABLE unit_positions (
    unit_id      INTEGER NOT NULL REFERENCES units (id),
    at           INTEGER NOT NULL,
    lat          REAL    NOT NULL,
    lon          REAL    NOT NULL,
    accuracy_m   REAL,
    speed_mps    REAL,
    bearing      REAL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX unit_positions_unit ON unit_positions (unit_id, at);

-- A unit sent to a report; `step` is the latest of its steps.
CREATE TABLE dispatches (
    id           INTEGER PRIMARY KEY,
    report_id    INTEGER NOT NULL REFERENCES reports (id),
    unit_id      INTEGER NOT NULL REFERENCES units (id),
    step         TEXT    NOT NULL,
    distance_m   REAL,
    eta_s        REAL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX dispatches_report ON dispatches (report_id, id);
CREATE INDEX dispatches_unit ON dispatches (unit_id, id);

-- Every step of every dispatch with its time: append-only, like events.
CREATE TABLE dispatch_steps (
    id           INTEGER PRIMARY KEY,
    dispatch_id  INTEGER NOT NULL REFERENCES dispatches (id),
    step         TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL
);
CREATE INDEX dispatch_steps_dispatch ON dispatch_steps (dispatch_id, id);
CREATE TRIGGER dispatch_steps_append_only_update BEFORE UPDATE ON dispatch_steps
    BEGIN SELECT RAISE(ABORT, 'dispatch steps are append-only'); END;
CREATE TRIGGER dispatch_steps_append_only_delete BEFORE DELETE ON dispatch_steps
    BEGIN SELECT RAISE(ABORT, 'dispatch steps are append-only'); END;

-- The change feed behind the live stream: one row per change, in commit order.
-- A sequence number is never reused (a client resuming with Last-Event-ID must not
-- skip or repeat): pruning always keeps the latest row, so new rowids stay above
-- every old one without AUTOINCREMENT's extra write per insert.
CREATE TABLE feed (
    seq   INTEGER PRIMARY KEY,
    kind  TEXT    NOT NULL,
    ref   INTEGER NOT NULL,
    at    INTEGER NOT NULL
);
-- Every report event adds a row (written beside the event by the store's one
-- event-writing function; a trigger cost 15% of a bulk import).
