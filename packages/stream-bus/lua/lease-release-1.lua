--[[
  Gives a partition lease up, only if the caller holds it.
  KEYS[1]  the lease key of one (pool, partition)
  ARGV[1]  the caller's id
  Returns 1 when released, 0 when the caller did not hold it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
