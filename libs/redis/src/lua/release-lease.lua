--[[
  release-lease.lua — give a lease back, only if the caller still holds it.

  KEYS[1]  lease string ({rollout}:lease)
  ARGV[1]  owner id

  Returns: 1 when released, 0 when the caller did not hold it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
