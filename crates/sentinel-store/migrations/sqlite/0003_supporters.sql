-- "Me too": people who joined a report instead of filing a duplicate. The key
-- (account, device id or contact) makes supporting twice count once. Contact
-- details here are personal data, as on reports.
CREATE TABLE supporters (
    report_id      INTEGER NOT NULL REFERENCES reports(id),
    supporter_key  TEXT    NOT NULL,
    contact_name   TEXT,
    contact_phone  TEXT,
    contact_email  TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (report_id, supporter_key)
);
