--[[
  resolve-profile.lua — decide's read of an anonymous visitor in ONE round trip: the anonymousId's
  link to a user, the linked user's profile hash and the anonymous profile hash.

  KEYS[1]  link key of the anonymous id ({a:<anonymousId>}:l, a string holding the userId)
  KEYS[2]  profile hash of the anonymous id itself ({p:<anonymousId>}:s)
  ARGV[1]  profile key prefix, e.g. "tinycdp:{p:"
  ARGV[2]  profile key suffix, e.g. "}:s"

  Returns: { linkedUserId or "", userFields, anonFields } where *Fields are flat HGETALL arrays.
  userFields is read only when the userId needs no key encoding (characters [A-Za-z0-9_.@-]); otherwise
  it is returned empty with linkedUserId set, and the caller reads that profile itself (a second round
  trip, rare: ids are validated upstream). The user profile key is computed here, so this script is not
  Redis Cluster safe (it reads a key in another slot); decide runs it against a standalone primary or
  replica. Read-only.
]]
local linked = redis.call('GET', KEYS[1])
local userFields = {}
if linked and string.find(linked, '^[%w_%.@%-]+$') then
  userFields = redis.call('HGETALL', ARGV[1] .. linked .. ARGV[2])
end
local anonFields = redis.call('HGETALL', KEYS[2])
return { linked or '', userFields, anonFields }
