-- Every row of the live order_summary view. No parameters.
SELECT order_id, customer_id, status, item_count, total_cents::text AS total_cents,
       position::int AS position
FROM projections.order_summary
