-- Map layers. A layer is imported as `importing` in batches and switched to
-- `ready` (replacing a ready layer of the same name) in one transaction at the end,
-- so readers see the old layer or the whole new one, never half.
CREATE TABLE layers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX layers_ready_name ON layers(name) WHERE status = 'ready';

CREATE TABLE layer_features (
    id          INTEGER PRIMARY KEY,
    layer_id    INTEGER NOT NULL REFERENCES layers(id),
    geometry    TEXT    NOT NULL,
    properties  TEXT    NOT NULL,
    min_lon     REAL    NOT NULL,
    min_lat     REAL    NOT NULL,
    max_lon     REAL    NOT NULL,
    max_lat     REAL    NOT NULL
);
CREATE INDEX layer_features_box ON layer_features(layer_id, min_lon, max_lon);
