package redisstore

import "github.com/redis/go-redis/v9"

// The ledger's scripts share one layout under the ledger's prefix P:
//
//   - P+"a:"+... (see Ledger.accountKey): an account's hash in one period,
//     fields "spent" and "reserved", integer micro-dollars kept by HINCRBY
//     (exact int64 arithmetic in Redis itself).
//   - P+"r:"+id: a reservation's hash: "st" (h held, x expired, d done),
//     "amt", "e" (expiry, Unix milliseconds of the injected clock), "n" and
//     "k1".."kn" (the account keys it holds).
//   - P+"timers": a sorted set of reservation IDs scored by their next timer
//     (expiry while held; forgetting, a TTL later, once expired or done).
//
// Reservations are numbered by the Ledger value rather than by a counter in
// Redis, so that Reserve can declare the new reservation's key.
//
// Every script declares in KEYS the keys it can name in advance: the timers,
// the reservation it makes or ends, the accounts it reserves against or
// reads. It cannot name the reservations its sweep finds due, nor the
// account keys a reservation holds, which it reads from the reservation;
// Redis Cluster lets a script touch such undeclared keys only in the slot
// of its declared ones, hence the hash tag that LedgerOptions.Prefix must
// hold.
//
// Lua numbers are float64: the scripts only compare with them, and every
// comparison that decides a refusal is exact while limits stay below 2^53
// (Reserve refuses larger limits); sums are done by HINCRBY on the strings
// passed.

// ledgerSweep is the prelude of every ledger script: it processes at most
// ledgerSweepMax timers due at now (ARGV[1], ms) from the sorted set
// KEYS[1], with the TTL ARGV[2] (ms) and the reservation key prefix ARGV[3].
const ledgerSweep = `
local now, ttl, rprefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local function unhold(r, amt)
  if amt == '0' then return end
  local n = tonumber(redis.call('HGET', r, 'n') or '0')
  for i = 1, n do
    local k = redis.call('HGET', r, 'k' .. i)
    if k and redis.call('EXISTS', k) == 1 then
      redis.call('HINCRBY', k, 'reserved', '-' .. amt)
    end
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 128)
for _, id in ipairs(due) do
  local r = rprefix .. id
  local st = redis.call('HMGET', r, 'st', 'amt', 'e')
  if st[1] == 'h' then
    unhold(r, st[2])
    redis.call('HSET', r, 'st', 'x')
    redis.call('ZADD', KEYS[1], tonumber(st[3]) + ttl, id)
  else
    redis.call('DEL', r)
    redis.call('ZREM', KEYS[1], id)
  end
end
`

// ledgerReserveScript reserves ARGV[4] (the amount, a decimal string)
// against the accounts KEYS[3..]; account i (from 1) has its limit in
// ARGV[4+2i] and its key's lifetime in ms in ARGV[5+2i] (0: no expiry).
// ARGV[5] is the new reservation's ID, unique to the call, and KEYS[2] its
// key.
//
// It returns {1} when granted, {0, i, remaining} when account i (from 1)
// cannot cover the amount and {-1, i} when the amount would overflow account
// i's reservations. A refusal writes nothing but the sweep.
var ledgerReserveScript = redis.NewScript(ledgerSweep + `
local amount, amt, id = tonumber(ARGV[4]), ARGV[4], ARGV[5]
local n = #KEYS - 2
for i = 1, n do
  local k = KEYS[i + 2]
  local limit = tonumber(ARGV[4 + 2 * i])
  local b = redis.call('HMGET', k, 'spent', 'reserved')
  local spent, reserved = tonumber(b[1] or '0'), tonumber(b[2] or '0')
  if limit > 0 then
    local left = (limit - spent) - reserved
    if limit - spent <= 0 or left < 0 then left = 0 end
    if amount > left then
      return {0, i, left}
    end
  end
  if reserved + amount > 9.2e18 then
    return {-1, i}
  end
end
local r = KEYS[2]
redis.call('HSET', r, 'st', 'h', 'amt', amt, 'e', now + ttl, 'n', n)
for i = 1, n do
  local k = KEYS[i + 2]
  redis.call('HINCRBY', k, 'reserved', amt)
  redis.call('HINCRBY', k, 'spent', 0)
  local life = tonumber(ARGV[5 + 2 * i])
  if life > 0 then redis.call('PEXPIRE', k, life) end
  redis.call('HSET', r, 'k' .. i, k)
end
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('PEXPIRE', r, 3 * ttl + 86400000)
return {1}
`)

// ledgerEndScript settles (ARGV[5] >= "0", the cost) or releases (ARGV[5]
// == "-") the reservation ARGV[4], whose key is KEYS[2]. It returns 0 for an
// unknown reservation, 1 otherwise (including a reservation already ended).
var ledgerEndScript = redis.NewScript(ledgerSweep + `
local id, cost = ARGV[4], ARGV[5]
local r = KEYS[2]
local st = redis.call('HMGET', r, 'st', 'amt', 'e')
if not st[1] then return 0 end
if st[1] == 'd' then return 1 end
if st[1] == 'h' then
  unhold(r, st[2])
  redis.call('ZADD', KEYS[1], tonumber(st[3]) + ttl, id)
end
redis.call('HSET', r, 'st', 'd')
if cost ~= '-' and cost ~= '0' then
  local n = tonumber(redis.call('HGET', r, 'n') or '0')
  for i = 1, n do
    local k = redis.call('HGET', r, 'k' .. i)
    if k and redis.call('EXISTS', k) == 1 then
      local spent = tonumber(redis.call('HGET', k, 'spent') or '0')
      if spent + tonumber(cost) > 9.2e18 then
        redis.call('HSET', k, 'spent', '9223372036854775807')
      else
        redis.call('HINCRBY', k, 'spent', cost)
      end
    end
  end
end
return 1
`)

// ledgerBalanceScript returns {spent, reserved} of account KEYS[2], as
// decimal strings, after the sweep.
var ledgerBalanceScript = redis.NewScript(ledgerSweep + `
local b = redis.call('HMGET', KEYS[2], 'spent', 'reserved')
return {b[1] or '0', b[2] or '0'}
`)
