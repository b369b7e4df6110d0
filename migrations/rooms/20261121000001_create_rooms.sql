-- Rooms, their members with roles, bans, and the one direct room of each pair of users.

-- Trigram indexes answer the case-insensitive substring search of public room names.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE rooms (
    id           uuid        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    -- Empty for direct rooms, which clients name after the other user.
    name         text        NOT NULL,
    description  text,
    topic        text,
    -- NULL for direct rooms; otherwise also the one member whose role is 'owner'.
    owner_id     uuid,
    -- Kept by the trigger on room_members, so listings need no count.
    member_count bigint      NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'direct') = (owner_id IS NULL))
);

-- ListPublicRooms: newest first by (created_at, id), keyset-paginated.
CREATE INDEX rooms_public_by_creation ON rooms (created_at, id) WHERE kind = 'public';
-- ListPublicRooms with a query: lower(name) LIKE '%query%'.
CREATE INDEX rooms_public_name_trgm ON rooms USING gin (lower(name) gin_trgm_ops)
    WHERE kind = 'public';

CREATE TABLE room_members (
    room_id   uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   uuid        NOT NULL,
    role      text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    -- CheckMembership is one lookup of this key.
    PRIMARY KEY (room_id, user_id)
);

-- ListMembers: oldest member first, keyset-paginated.
CREATE INDEX room_members_by_room ON room_members (room_id, joined_at, user_id);
-- ListMyRooms (latest joined first) and ListMemberships.
CREATE INDEX room_members_by_user ON room_members (user_id, joined_at, room_id);
-- A room has at most one owner.
CREATE UNIQUE INDEX room_members_one_owner ON room_members (room_id) WHERE role = 'owner';

CREATE FUNCTION room_members_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
        RETURN NEW;
    ELSE
        -- A cascade from a deleted room finds no row to update, which is fine.
        UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
        RETURN OLD;
    END IF;
END;
$$;

CREATE TRIGGER room_members_count
    AFTER INSERT OR DELETE ON room_members
    FOR EACH ROW EXECUTE FUNCTION room_members_count();

CREATE TABLE room_bans (
    room_id   uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   uuid        NOT NULL,
    banned_by uuid        NOT NULL,
    -- NULL: until unbanned. A ban whose time has passed no longer blocks.
    until     timestamptz,
    reason    text,
    banned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);

-- The one direct room of a pair of users, keyed by the ordered pair so that two users
-- opening their conversation at the same moment meet on the same key. The foreign key
-- is checked at commit, so the pair can be claimed before its room row is written.
CREATE TABLE direct_rooms (
    user_low  uuid NOT NULL,
    user_high uuid NOT NULL,
    room_id   uuid NOT NULL UNIQUE
        REFERENCES rooms (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (user_low, user_high),
    CHECK (user_low < user_high)
);
