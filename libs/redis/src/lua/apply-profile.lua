--[[
  apply-profile.lua — write a profile's new state, remember applied message ids and queue its segment
  changes, all or nothing, only if nobody wrote the profile since we read it (compare-and-set).

  KEYS[1]  profile state hash            ({p:<id>}:s)
  KEYS[2]  segment-change outbox list    ({p:<id>}:o)
  KEYS[3]  applied message ids zset      ({p:<id>}:m)

  ARGV[1]  expected revision (the `_rev` field read with the state; "0" when the profile was absent)
  ARGV[2]  now, ms since epoch (score for message ids)
  ARGV[3]  message id retention, ms (ids older than now - retention are dropped)
  ARGV[4]  JSON array of four string arrays (one argument instead of one per string: building and
           sending each argument costs the client more than this decode costs Redis):
             [ [field, value, field, value, …],   fields to set
               [field, …],                         fields to delete
               [messageId, …],                     message ids applied by this write
               [changeJson, …] ]                   segment changes appended to the outbox
           Strings must be well-formed UTF-16 on the client (cjson rejects lone surrogate escapes).

  Every successful write also sets `_w`, a write id unique to this write (Redis server time in µs and
  the new revision): a reader holding a profile it decoded earlier asks "changed since `_w`?" and gets
  the state only when it did (decide's read-if-changed.lua). `_rev` alone cannot say it: a profile
  deleted and written again starts at the same revisions.

  Returns: { newRevision, outboxEntry1, outboxEntry2, … } (every pending change, old and new), or
           { -1, currentRevision } when the revision did not match (caller reloads and retries).
]]
local rev = tonumber(redis.call('HGET', KEYS[1], '_rev') or '0')
if rev ~= tonumber(ARGV[1]) then
  return { -1, rev }
end

local data = cjson.decode(ARGV[4])
local set, del, ids, changes = data[1], data[2], data[3], data[4]

-- Calls `cmd key list[…]` in slices of at most 1000 arguments (Lua's unpack has a small stack limit,
-- and one write may carry thousands of message ids); `step` keeps field/value pairs together.
local function sliced(cmd, key, list, step)
  local n = #list
  local i = 1
  while i <= n do
    local j = math.min(i + 999, n)
    j = j - ((j - i + 1) % step)
    redis.call(cmd, key, unpack(list, i, j))
    i = j + 1
  end
end

sliced('HSET', KEYS[1], set, 2)
sliced('HDEL', KEYS[1], del, 1)

local newRev = rev + 1
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], '_rev', newRev, '_w', t[1] .. '.' .. t[2] .. '.' .. newRev)

local now = tonumber(ARGV[2])
local nIds = #ids
if nIds > 0 then
  local j = 1
  while j <= nIds do
    local last = math.min(j + 499, nIds)
    local args = {}
    for k = j, last do
      args[#args + 1] = now
      args[#args + 1] = ids[k]
    end
    redis.call('ZADD', KEYS[3], unpack(args))
    j = last + 1
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))
end

sliced('RPUSH', KEYS[2], changes, 1)

local out = { newRev }
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
for _, v in ipairs(pending) do out[#out + 1] = v end
return out
