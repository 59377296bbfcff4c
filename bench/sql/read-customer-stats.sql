-- The customer_stats view in the shape of the fold's CustomerStats (money in cents).
SELECT customer_id AS "customerId",
       orders_placed AS "ordersPlaced",
       orders_shipped AS "ordersShipped",
       orders_cancelled AS "ordersCancelled",
       lifetime_value_cents::float8 AS "lifetimeValueCents"
FROM projections.customer_stats
