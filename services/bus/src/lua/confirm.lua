-- Records that the broker confirmed one pending entry, atomically (see the `sequencer`
-- module docs): the entry leaves the pending set with its envelope, and the dedup record
-- of its send, when it still holds that envelope, becomes the compact ack, keeping its
-- remaining time to live.
--
-- KEYS[1] the pending set
-- KEYS[2] the pending entries' envelopes (hash: pending member -> envelope)
-- KEYS[3] the dedup record of the entry (of a send or of a room event; read and written
--         only when ARGV[3] is '1')
-- ARGV[1] the entry's pending member
-- ARGV[2] the compact ack of the entry
-- ARGV[3] '1' when the entry may have a dedup record (a chat message or a room event)
--
-- Returns 1 when the dedup record was rewritten, else 0.

local envelope = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
if not envelope then
  -- Confirmed before (by its sender or by the sweeper): nothing more to do.
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
-- The record must still be this entry's: a later send may have reused the client message
-- id once the record of this one expired.
if ARGV[3] == '1' and redis.call('GET', KEYS[3]) == envelope then
  redis.call('SET', KEYS[3], ARGV[2], 'XX', 'KEEPTTL')
  return 1
end
return 0
