--[[
  load-profile.lua — everything a profile update reads, in one call: the state hash, the segment
  changes not yet published (outbox) and which of the given message ids the profile already applied.
  Read-only.

  KEYS[1]  profile state hash            ({p:<id>}:s)
  KEYS[2]  segment-change outbox list    ({p:<id>}:o)
  KEYS[3]  applied message ids zset      ({p:<id>}:m)

  ARGV[1]  JSON array of the message ids to look up (may be empty; one argument instead of one per id,
           cheaper for the client; strings well-formed UTF-16, as cjson rejects lone surrogate escapes)

  Returns: { {field, value, field, value, …}, {outbox entry, …}, {1 or 0 per message id, in order} }
           (an absent profile: two empty lists and zeros). The state hash includes `_rev`.
]]
local fields = redis.call('HGETALL', KEYS[1])
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
local ids = cjson.decode(ARGV[1])
local seen = {}
local n = #ids
-- In slices: Lua's unpack has a small stack limit, and one chunk may hold thousands of ids of one profile.
local i = 1
while i <= n do
  local j = math.min(i + 999, n)
  local scores = redis.call('ZMSCORE', KEYS[3], unpack(ids, i, j))
  for k = 1, #scores do
    if scores[k] then seen[#seen + 1] = 1 else seen[#seen + 1] = 0 end
  end
  i = j + 1
end
return { fields, pending, seen }
