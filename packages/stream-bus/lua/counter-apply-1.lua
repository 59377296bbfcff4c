--[[
  Applies one batch of a counter projection to one partition's hash, if the
  partition's checkpoint (kept in the same hash) is where the caller read it
  and the hash is not frozen (a rebuild swapping this version out).
  KEYS[1]  the counters hash of one (projection, version, partition)
  ARGV[1]  the checkpoint the batch starts after
  ARGV[2]  the checkpoint the batch ends at
  ARGV[3..] field, increment pairs
  Returns 1 when applied, 0 when the checkpoint had moved, -1 when frozen
  (nothing written in either case).
]]
if redis.call('HEXISTS', KEYS[1], '~frozen') == 1 then
  return -1
end
local current = redis.call('HGET', KEYS[1], '~checkpoint') or '0'
if current ~= ARGV[1] then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], '~checkpoint', ARGV[2])
return 1
