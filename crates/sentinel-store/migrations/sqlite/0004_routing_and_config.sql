-- Where a report lies (innermost jurisdiction code) and how it was routed (JSON:
-- department, co_departments, rule, reason).
ALTER TABLE reports ADD COLUMN jurisdiction TEXT;
ALTER TABLE reports ADD COLUMN routing TEXT;
CREATE INDEX reports_jurisdiction ON reports(jurisdiction, id);

-- The city's configuration (categories, departments, routing rules) as one JSON
-- document per version; the newest is in force.
CREATE TABLE config_versions (
    id          INTEGER PRIMARY KEY,
    document    TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
