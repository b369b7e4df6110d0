-- chat.v1.RoomEnvelope in the protobuf wire format, written by hand so the script that
-- assigns a position can store and publish the finished bytes itself.
--
-- Fields in number order, each omitted when it holds its default (0 or empty), as
-- proto3 encoders do: 1 epoch (varint), 2 seq (varint), 3 item (bytes), 4 room_id (string).
-- Lua numbers are doubles: integers are exact up to 2^53, far beyond any epoch in
-- milliseconds or any seq.

local function varint(n)
  local bytes = {}
  while n >= 128 do
    bytes[#bytes + 1] = string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  bytes[#bytes + 1] = string.char(n)
  return table.concat(bytes)
end

local function room_envelope(epoch, seq, item, room_id)
  local parts = {}
  if epoch ~= 0 then
    parts[#parts + 1] = '\8' .. varint(epoch)
  end
  if seq ~= 0 then
    parts[#parts + 1] = '\16' .. varint(seq)
  end
  if #item > 0 then
    parts[#parts + 1] = '\26' .. varint(#item) .. item
  end
  if #room_id > 0 then
    parts[#parts + 1] = '\34' .. varint(#room_id) .. room_id
  end
  return table.concat(parts)
end

local function integer(n)
  return string.format('%.0f', n)
end

