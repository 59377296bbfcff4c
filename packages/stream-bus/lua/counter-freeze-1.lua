--[[
  Freezes one partition's counters hash: from now on counter-apply refuses
  every batch on it, so its checkpoint can no longer move.
  KEYS[1]  the counters hash of one (projection, version, partition)
  Returns the checkpoint it is frozen at.
]]
redis.call('HSET', KEYS[1], '~frozen', '1')
return tonumber(redis.call('HGET', KEYS[1], '~checkpoint') or '0')
