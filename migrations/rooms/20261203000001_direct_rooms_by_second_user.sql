-- A user's direct partners are looked up from either side of the pair (at every socket
-- connect); the primary key serves `user_low`, this index `user_high`.
CREATE INDEX direct_rooms_user_high_idx ON direct_rooms (user_high);
