-- Every tripped projection, with when and why. No parameters.
SELECT name, tripped_at, trip_reason FROM refract.projections WHERE tripped_at IS NOT NULL
