-- The console's search finds a caller's reports by phone number (personal data:
-- the search is logged like any read of contact details).
CREATE INDEX reports_contact_phone ON reports (contact_phone, id) WHERE contact_phone IS NOT NULL;
