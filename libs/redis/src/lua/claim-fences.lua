--[[
  claim-fences.lua — set-once fences: for each (series, partition) keep the first offset anyone
  claimed and return the offset that holds. The live path claims the first offset it processes with
  a series in its plan; the rollout coordinator claims the high watermark. Both then use the value
  returned, so every event is applied to a new series exactly once: by the live path at or above the
  fence, by the backfill below it.

  KEYS[1..n]  fence hash per claim ({rollout}:fence:<seriesId>); a key may repeat
  ARGV[1..n]  partition per claim
  ARGV[n+1..2n]  offset claimed per claim (decimal)

  Returns: the fence offset (decimal string) per claim, in order.
]]
local n = #KEYS
local out = {}
for i = 1, n do
  redis.call('HSETNX', KEYS[i], ARGV[i], ARGV[n + i])
  out[i] = redis.call('HGET', KEYS[i], ARGV[i])
end
return out
