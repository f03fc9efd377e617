--[[
  read-if-changed.lua — decide's read of a profile it holds decoded from an earlier request: the
  state only when it changed since. ONE round trip either way, always answered from Redis' current
  state (never a stale decode), but an unchanged profile costs a one-integer reply instead of every
  field (parsing the fields was a large share of decide's CPU per request).

  KEYS[1]  profile state hash ({p:<id>}:s)
  ARGV[1]  the write id (`_w`, set by every apply-profile.lua write) of the state decide holds

  Returns: 1 when the hash's `_w` is ARGV[1] (unchanged), else the flat HGETALL array (empty for an
  absent profile). Read-only; touches only KEYS[1] (Redis Cluster safe).
]]
local w = redis.call('HGET', KEYS[1], '_w')
if w and w == ARGV[1] then
  return 1
end
return redis.call('HGETALL', KEYS[1])
