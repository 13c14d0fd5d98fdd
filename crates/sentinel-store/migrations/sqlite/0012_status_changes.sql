-- Status changes by time, for feeds of updates (Open311 servicerequestupdates):
-- a partial index, so that comments and submissions cost nothing extra.
CREATE INDEX events_status_changes ON events (at) WHERE to_status IS NOT NULL AND action <> 'submit';
