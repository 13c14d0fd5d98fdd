-- Jurisdictions: city → district/county → town/street → grid. Areas are GeoJSON
-- (WGS-84); the server builds its spatial index from them at start.
CREATE TABLE jurisdictions (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    name_en     TEXT,
    level       TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES jurisdictions(id),
    area        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jurisdictions_level ON jurisdictions(level);
