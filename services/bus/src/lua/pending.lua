-- Members of the pending set fanned out at least ARGV[1] milliseconds ago (by the Redis
-- clock, the one that scored them), oldest first, at most ARGV[2] of them, with their
-- envelopes.
--
-- KEYS[1] the pending set
-- KEYS[2] the pending entries' envelopes (hash: pending member -> envelope)
--
-- Returns {members, envelopes}: envelopes[i] belongs to members[i], nil when the member
-- has none (not written by append.lua).
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cutoff = string.format('%.0f', now_ms - tonumber(ARGV[1]))
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, ARGV[2])
local envelopes = {}
for i, member in ipairs(members) do
  -- false (a nil reply) keeps the two lists aligned.
  envelopes[i] = redis.call('HGET', KEYS[2], member)
end
return {members, envelopes}
