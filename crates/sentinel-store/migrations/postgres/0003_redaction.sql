-- Privacy redaction. A photo row is its own redaction job: it is written pending,
-- in the same transaction as its report; workers claim it for a lease and store the
-- public copy (faces and plates blurred) under `redacted_id`. Staff corrections bump
-- the version and queue it again; `hidden` keeps it from the public entirely.
ALTER TABLE photos ADD COLUMN redaction_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE photos ADD COLUMN redaction_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE photos ADD COLUMN redacted_id TEXT;
ALTER TABLE photos ADD COLUMN redacted_mime TEXT;
ALTER TABLE photos ADD COLUMN redaction_regions TEXT;
ALTER TABLE photos ADD COLUMN redaction_edits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE photos ADD COLUMN hidden BIGINT NOT NULL DEFAULT 0;
ALTER TABLE photos ADD COLUMN redaction_claimed_until BIGINT;
ALTER TABLE photos ADD COLUMN redaction_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE photos ADD COLUMN redaction_error TEXT;
ALTER TABLE photos ADD COLUMN redacted_at BIGINT;
CREATE INDEX photos_redaction_pending ON photos (created_at, id) WHERE redaction_state = 'pending';
CREATE INDEX photos_hidden ON photos (id) WHERE hidden <> 0;
