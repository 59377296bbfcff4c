--[[
  Takes a partition lease, or renews it when the caller holds it already.
  KEYS[1]  the lease key of one (pool, partition)
  ARGV[1]  the caller's id
  ARGV[2]  time to live, ms
  Returns 1 when the caller holds the lease now, 0 when another member does.
]]
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
