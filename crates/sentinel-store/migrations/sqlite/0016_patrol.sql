-- Patrol points (巡逻点), kept in step with the layers of kind patrol_points: a
-- point keeps its id (and its visits, and its printed QR code) across re-imports as
-- long as its code stays the same.
CREATE TABLE patrol_points (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    lat             REAL    NOT NULL,
    lon             REAL    NOT NULL,
    radius_m        REAL    NOT NULL,
    visits_per_day  INTEGER NOT NULL,
    qr_token        TEXT    NOT NULL UNIQUE,
    layer_name      TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX patrol_points_lat ON patrol_points (lat) WHERE active = 1;

-- Every visit: by geofence (a unit's position came within the radius), a manual
-- check-in, or a scan of the point's QR code.
CREATE TABLE patrol_visits (
    id          INTEGER PRIMARY KEY,
    point_id    INTEGER NOT NULL REFERENCES patrol_points (id),
    unit_id     INTEGER REFERENCES units (id),
    user_name   TEXT,
    at          INTEGER NOT NULL,
    method      TEXT    NOT NULL
);
CREATE INDEX patrol_visits_point ON patrol_visits (point_id, at);
CREATE INDEX patrol_visits_unit ON patrol_visits (unit_id, point_id, at);
