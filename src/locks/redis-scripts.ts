import { defineScript } from "./quorum.js";

/*
 * Each script runs atomically on one node and looks at one lock key holding a
 * JSON LockRecord (see lock-record.ts). Owner checks decode the JSON with
 * cjson; a value that does not decode belongs to nobody we know. Scripts answer
 * `{code, value}` so the client can tally the holder without another read.
 */

const decode = `
local function decode(value)
  local ok, rec = pcall(cjson.decode, value)
  if ok and type(rec) == 'table' then return rec end
  return nil
end
`;

/**
 * acquireScript takes a free key or refreshes the same owner's lease.
 * KEYS[1] lock key; ARGV: owner id, new record JSON, ttl ms, new expiresAt ms.
 * Answers {1, new} (was free, now ours), {2, updated} (the owner's lease,
 * extended: nonce, token and acquiredAt kept), or {0, current} (someone else's).
 */
export const acquireScript = defineScript(`${decode}
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {1, ARGV[2]}
end
local rec = decode(cur)
if rec and rec.ownerId == ARGV[1] then
  rec.expiresAt = tonumber(ARGV[4])
  local value = cjson.encode(rec)
  redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
  return {2, value}
end
return {0, cur}
`);

/**
 * refreshScript extends the owner's lease (compare-and-set on the owner id).
 * KEYS[1] lock key; ARGV: owner id, ttl ms, new expiresAt ms.
 * Answers {1, updated}, {0, current} (someone else's) or {0} (free).
 */
export const refreshScript = defineScript(`${decode}
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
local rec = decode(cur)
if rec and rec.ownerId == ARGV[1] then
  rec.expiresAt = tonumber(ARGV[3])
  local value = cjson.encode(rec)
  redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
  return {1, value}
end
return {0, cur}
`);

/**
 * replaceOwnScript overwrites, keeping the TTL, a value that is this
 * acquisition's (same nonce) or the same owner's: it stamps the fencing token
 * on a freshly won lease, and replaces the owner's stale minority copies.
 * KEYS[1] lock key; ARGV: nonce, owner id, new record JSON.
 * Answers {1, new}, {0, current} or {0}.
 */
export const replaceOwnScript = defineScript(`${decode}
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
local rec = decode(cur)
if rec and (rec.nonce == ARGV[1] or rec.ownerId == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
  return {1, ARGV[3]}
end
return {0, cur}
`);

/**
 * rollbackScript deletes this acquisition's value (same nonce) and nothing
 * else: the undo of a partial acquisition. KEYS[1] lock key; ARGV: nonce.
 * Answers 1 if it deleted, else 0.
 */
export const rollbackScript = defineScript(`${decode}
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local rec = decode(cur)
if rec and rec.nonce == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

/**
 * releaseScript deletes the owner's lease (compare-and-delete on the owner id).
 * KEYS[1] lock key; ARGV: owner id.
 * Answers {1, deleted}, {0, current} (someone else's) or {0} (free).
 */
export const releaseScript = defineScript(`${decode}
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
local rec = decode(cur)
if rec and rec.ownerId == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {1, cur}
end
return {0, cur}
`);

/**
 * raiseToScript makes a fencing counter at least ARGV[1] (a max-register
 * write): the write-back that keeps a majority of nodes at the highest token
 * issued. KEYS[1] counter key. Answers the counter's value afterwards, as a string.
 */
export const raiseToScript = defineScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur) or (tonumber(cur) < tonumber(ARGV[1])) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return cur
`);
