--[[
  apply-profile.lua — write a profile's new state, remember applied message ids and queue its segment
  changes, all or nothing, only if nobody wrote the profile since we read it (compare-and-set).

  KEYS[1]  profile state hash            ({p:<id>}:s)
  KEYS[2]  segment-change outbox list    ({p:<id>}:o)
  KEYS[3]  applied message ids zset      ({p:<id>}:m)

  ARGV[1]  expected revision (the `_rev` field read with the state; "0" when the profile was absent)
  ARGV[2]  now, ms since epoch (score for message ids)
  ARGV[3]  message id retention, ms (ids older than now - retention are dropped)
  ARGV[4]  nSet: number of field/value pairs that follow
  ARGV[5 .. 4+2*nSet]           field, value, field, value …
  ARGV[next]  nDel, then nDel field names to delete
  ARGV[next]  nIds, then nIds message ids
  ARGV[next]  nChanges, then nChanges segment-change JSON strings (appended to the outbox)

  Returns: { newRevision, outboxEntry1, outboxEntry2, … } (every pending change, old and new), or
           { -1, currentRevision } when the revision did not match (caller reloads and retries).
]]
local rev = tonumber(redis.call('HGET', KEYS[1], '_rev') or '0')
if rev ~= tonumber(ARGV[1]) then
  return { -1, rev }
end

local i = 4
local nSet = tonumber(ARGV[i]); i = i + 1
if nSet > 0 then
  local args = {}
  for j = 0, 2 * nSet - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HSET', KEYS[1], unpack(args))
end
i = i + 2 * nSet

local nDel = tonumber(ARGV[i]); i = i + 1
if nDel > 0 then
  local args = {}
  for j = 0, nDel - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('HDEL', KEYS[1], unpack(args))
end
i = i + nDel

local newRev = rev + 1
redis.call('HSET', KEYS[1], '_rev', newRev)

local now = tonumber(ARGV[2])
local nIds = tonumber(ARGV[i]); i = i + 1
if nIds > 0 then
  local args = {}
  for j = 0, nIds - 1 do
    args[#args + 1] = now
    args[#args + 1] = ARGV[i + j]
  end
  redis.call('ZADD', KEYS[3], unpack(args))
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))
end
i = i + nIds

local nChanges = tonumber(ARGV[i]); i = i + 1
if nChanges > 0 then
  local args = {}
  for j = 0, nChanges - 1 do args[#args + 1] = ARGV[i + j] end
  redis.call('RPUSH', KEYS[2], unpack(args))
end

local out = { newRev }
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
for _, v in ipairs(pending) do out[#out + 1] = v end
return out
