-- The running deadline of an open report (受理, 派单 or 办结), and for which deadline
-- the reminder (催办) and the escalation (督办) were already written, so the sweep
-- writes each once.
ALTER TABLE reports ADD COLUMN due_at INTEGER;
ALTER TABLE reports ADD COLUMN due_kind TEXT;
ALTER TABLE reports ADD COLUMN reminded_for INTEGER;
ALTER TABLE reports ADD COLUMN escalated_for INTEGER;
CREATE INDEX reports_due ON reports(due_at) WHERE due_at IS NOT NULL;
