-- Each partition's last event at or below a position (0 when none): one probe
-- of the (partition, position) index per partition.
--   $1 int     partition count
--   $2 bigint  position
-- Returns one row per partition: partition, target (text).
SELECT p AS partition,
       (SELECT coalesce(max(e.position), 0) FROM refract.events AS e
        WHERE e.partition = p AND e.position <= $2)::text AS target
FROM generate_series(0, $1::int - 1) AS p
