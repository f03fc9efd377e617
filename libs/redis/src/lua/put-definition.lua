--[[
  put-definition.lua — materialize one definition for decide, only if it is newer than what is there,
  and announce the change.

  KEYS[1]  definitions hash ({defs})
  ARGV[1]  field: "<kind>:<key>"
  ARGV[2]  version (integer)
  ARGV[3]  JSON of the definition, or "" for a deletion (tombstone kept as {"deleted":true,"version":v})
  ARGV[4]  pub/sub channel to announce on

  Returns: 1 when written, 0 when the stored version was the same or newer.
]]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, decoded = pcall(cjson.decode, cur)
  if ok and type(decoded) == 'table' and tonumber(decoded['version'] or 0) >= tonumber(ARGV[2]) then
    return 0
  end
end
local value = ARGV[3]
if value == '' then
  value = cjson.encode({ deleted = true, version = tonumber(ARGV[2]) })
end
redis.call('HSET', KEYS[1], ARGV[1], value)
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1
