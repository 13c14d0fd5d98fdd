-- The latest rating of the handling (满意度, 1 to 5) and when it was given; each
-- rating is also an event. Analysis reads satisfaction from here.
ALTER TABLE reports ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE reports ADD COLUMN rated_at INTEGER;
