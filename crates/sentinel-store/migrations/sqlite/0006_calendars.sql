-- Working-day calendars imported per year (holidays and 调休), as their TOML text.
CREATE TABLE calendar_years (
    year        INTEGER PRIMARY KEY,
    document    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
