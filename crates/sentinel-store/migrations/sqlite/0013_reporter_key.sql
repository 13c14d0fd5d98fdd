-- The SHA-256 of the secret handed to whoever filed the report: it lets them confirm
-- the fix, reopen or rate from the tracking page without an account.
ALTER TABLE reports ADD COLUMN reporter_key_hash TEXT;
