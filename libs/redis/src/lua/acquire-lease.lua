--[[
  acquire-lease.lua — take or renew a lease that at most one owner holds (the rollout coordinator).

  KEYS[1]  lease string ({rollout}:lease)
  ARGV[1]  owner id (unique per process)
  ARGV[2]  time to live, ms

  Returns: 1 when ARGV[1] holds the lease (taken now or renewed), 0 when another owner holds it.
]]
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
if cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
