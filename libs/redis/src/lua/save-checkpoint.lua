--[[
  save-checkpoint.lua — write rollout checkpoint fields, only while the caller holds the lease, so a
  coordinator that lost its lease (paused, partitioned) can never move the checkpoint of the new one.

  KEYS[1]  lease string ({rollout}:lease)
  KEYS[2]  checkpoint hash ({rollout}:state)
  ARGV[1]  owner id
  ARGV[2]  nSet, then nSet field/value pairs
  ARGV[next]  nDel, then nDel field names

  Returns: 1 when written, 0 when the caller does not hold the lease (nothing written).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local i = 2
local nSet = tonumber(ARGV[i]); i = i + 1
if nSet > 0 then
  local args = {}
  for j = 0, 2 * nSet - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HSET', KEYS[2], unpack(args))
end
i = i + 2 * nSet
local nDel = tonumber(ARGV[i]); i = i + 1
if nDel > 0 then
  local args = {}
  for j = 0, nDel - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HDEL', KEYS[2], unpack(args))
end
return 1
