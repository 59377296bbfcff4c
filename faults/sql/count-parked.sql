-- Parked (dead-lettered) events of any projection. No parameters.
-- Result: one row, `parked`. A lost connection must never park an event.
SELECT count(*)::int AS parked FROM refract.parked_events
