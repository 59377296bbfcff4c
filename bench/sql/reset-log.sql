-- Empties the event log and everything derived from it, and restarts
-- positions at 1, so every phase starts from the same empty state.
TRUNCATE refract.events, refract.streams, refract.snapshots, refract.relay_checkpoints;
ALTER SEQUENCE refract.events_position_seq RESTART WITH 1;
