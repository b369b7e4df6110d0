-- Appends one item to a room's sequence, atomically (see the `sequencer` module docs).
--
-- KEYS[1] the room's counter (hash: epoch, seq)
-- KEYS[2] the room's capped stream
-- KEYS[3] the dedup record of this send (read and written only when ARGV[6] is '1')
-- KEYS[4] the pending set (entries fanned out, not yet confirmed by the broker)
-- KEYS[5] the pending entries' envelopes (hash: pending member -> envelope)
-- ARGV[1] the encoded RoomItem
-- ARGV[2] the room id
-- ARGV[3] the room's channel (sharded pub/sub, in the room's slot)
-- ARGV[4] the stream's approximate maximum length
-- ARGV[5] how long the dedup record lives, in milliseconds
-- ARGV[6] '1' when this send carries a dedup key
-- ARGV[7] '1' on a Redis Cluster: the counter remembers the node that wrote it
--
-- Returns {0, envelope bytes} for a new entry, or {1, dedup record} for a send seen
-- before: the original envelope while its broker confirm is not recorded, its compact ack
-- (written by confirm.lua) after.

local with_dedup = ARGV[6] == '1'
if with_dedup then
  local original = redis.call('GET', KEYS[3])
  if original then
    return {1, original}
  end
end

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local counter = redis.call('HMGET', KEYS[1], 'epoch', 'node')
local epoch = tonumber(counter[1] or '0')
local node = false
if ARGV[7] == '1' then
  node = redis.call('CLUSTER', 'MYID')
  if counter[2] ~= node then
    -- The counter was written on another node: this one took the slot over, after a
    -- failover (its replica copy may lack the last positions given) or a resharding.
    -- A new epoch, so no position is given twice.
    epoch = 0
  end
end
local previous = tonumber(counter[1] or '0')
local seq
if epoch == 0 then
  -- The counter is new, or Redis lost it: a fresh epoch from the clock. Whatever the
  -- stream still holds must sort before it (the counter alone may have been lost, or
  -- the clock may be behind the one that wrote the stream), so the epoch also passes
  -- the stream's last one.
  epoch = now_ms
  local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #last > 0 then
    local last_epoch = tonumber(string.match(last[1][1], '^(%d+)-'))
    if last_epoch >= epoch then
      epoch = last_epoch + 1
    end
  end
  if previous >= epoch then
    epoch = previous + 1
  end
  seq = 1
  redis.call('HSET', KEYS[1], 'epoch', integer(epoch), 'seq', 1)
  if node then
    redis.call('HSET', KEYS[1], 'node', node)
  end
else
  seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
end

local envelope = room_envelope(epoch, seq, ARGV[1], ARGV[2])
local position = integer(epoch) .. '-' .. integer(seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], position, 'e', envelope)
redis.call('SPUBLISH', ARGV[3], envelope)
local member = ARGV[2] .. '|' .. integer(epoch) .. '|' .. integer(seq)
redis.call('ZADD', KEYS[4], integer(now_ms), member)
redis.call('HSET', KEYS[5], member, envelope)
if with_dedup then
  redis.call('SET', KEYS[3], envelope, 'PX', ARGV[5])
end
return {0, envelope}
