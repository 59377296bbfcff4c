-- order_summary rows whose position is not their stream's last event in the
-- log (at most 5): the position a reader waits for must be exact.
SELECT o.order_id, o.position, e.last
FROM projections.order_summary AS o
JOIN (SELECT stream_id, max(position) AS last FROM refract.events GROUP BY stream_id) AS e
  ON e.stream_id = 'order-' || o.order_id
WHERE o.position <> e.last
LIMIT 5
