-- Projections the circuit breaker has tripped. No parameters.
-- Result: one row per tripped projection, with its reason.
SELECT name, trip_reason FROM refract.projections WHERE tripped_at IS NOT NULL ORDER BY name
