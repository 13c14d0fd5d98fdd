-- Leases on periodic jobs (the deadline sweep, feed pruning): the node holding a
-- lease runs the job; another node takes it over once it lapses.
CREATE TABLE leases (
    name    TEXT    PRIMARY KEY,
    holder  TEXT    NOT NULL,
    until   BIGINT  NOT NULL
);
