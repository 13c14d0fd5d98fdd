-- Perceptual hash (dHash, 64 bits stored as a signed integer) of each photo, to flag
-- near-identical photos among duplicate candidates.
ALTER TABLE photos ADD COLUMN phash INTEGER;
