-- TinyCDP config store. Portable SQL: runs on PostgreSQL >= 13 and on PGlite (no extensions).
-- Migrations are immutable once released: add a new NNN_name.sql instead of editing this file.

-- Current state of every trait, segment and flag. Deleted definitions keep their row (deleted_at set)
-- so the version keeps increasing if the key is created again: consumers of the compacted
-- definitions topic compare versions and must never see one go backwards.
CREATE TABLE definitions (
  kind        text        NOT NULL CHECK (kind IN ('trait', 'segment', 'flag')),
  key         text        NOT NULL,
  body        jsonb       NOT NULL,
  version     integer     NOT NULL CHECK (version >= 1),
  status      text        NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'backfilling')),
  progress    jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (kind, key)
);

-- Append-only history: one row per committed change.
CREATE TABLE definition_versions (
  id       bigserial   PRIMARY KEY,
  kind     text        NOT NULL CHECK (kind IN ('trait', 'segment', 'flag')),
  key      text        NOT NULL,
  version  integer     NOT NULL,
  body     jsonb,
  op       text        NOT NULL CHECK (op IN ('create', 'update', 'delete')),
  actor    text,
  at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, key, version)
);

-- API keys. Only the sha-256 of the secret is stored (see api-keys.ts for why a fast hash is enough).
CREATE TABLE api_keys (
  id            text        PRIMARY KEY,
  name          text        NOT NULL,
  scope         text        NOT NULL CHECK (scope IN ('write', 'read', 'admin')),
  prefix        text        NOT NULL,
  hash          text        NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

-- Transactional outbox towards the compacted tinycdp.definitions topic. payload NULL = tombstone.
CREATE TABLE outbox (
  id            bigserial   PRIMARY KEY,
  topic_key     text        NOT NULL,
  payload       jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
