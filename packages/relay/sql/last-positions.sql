-- The last position of each partition at or below the relay's checkpoint:
-- the `prev` link of the next entry the relay publishes in that partition.
--   $1 bigint  checkpoint    $2 int  partition count
-- Returns partition, last (NULL when the partition has no event yet).
SELECT p AS partition,
       (SELECT max(position) FROM refract.events WHERE partition = p AND position <= $1) AS last
FROM generate_series(0, $2 - 1) AS p
