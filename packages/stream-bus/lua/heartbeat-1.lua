--[[
  Records a pool member as alive and returns the live members.
  KEYS[1]  the pool's members sorted set (member -> expiry, ms since epoch)
  ARGV[1]  member id
  ARGV[2]  time to live, ms
  Returns the ids of every member whose expiry is in the future, this one included.
  Uses the Redis server's clock, so workers on hosts with skewed clocks agree.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
