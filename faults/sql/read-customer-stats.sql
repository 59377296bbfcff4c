-- Every row of the live customer_stats view. No parameters.
SELECT customer_id, orders_placed, orders_shipped, orders_cancelled,
       lifetime_value_cents::text AS lifetime_value_cents
FROM projections.customer_stats
