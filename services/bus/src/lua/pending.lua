-- Members of the pending set fanned out at least ARGV[1] milliseconds ago (by the Redis
-- clock, the one that scored them), oldest first, at most ARGV[2] of them.
--
-- KEYS[1] the pending set
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cutoff = string.format('%.0f', now_ms - tonumber(ARGV[1]))
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, ARGV[2])
