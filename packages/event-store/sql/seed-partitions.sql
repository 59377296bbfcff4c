-- Records the partition count on the first migrate; later ones keep it.
--   $1 jsonb  the partition count
INSERT INTO refract.settings (key, value) VALUES ('partitions', $1::jsonb)
ON CONFLICT (key) DO NOTHING
