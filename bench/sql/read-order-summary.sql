-- The order_summary view in the shape of the fold's OrderSummary (money in
-- cents, placed_at as ISO text in UTC, like the generated events).
SELECT order_id AS "orderId",
       customer_id AS "customerId",
       status,
       item_count AS "itemCount",
       total_cents::float8 AS "totalCents",
       to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "placedAt"
FROM projections.order_summary
