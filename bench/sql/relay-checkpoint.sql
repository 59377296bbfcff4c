-- Where the relay is: its checkpoint row, or no row before it first leads.
--   $1 text  relay name
SELECT position FROM refract.relay_checkpoints WHERE name = $1
