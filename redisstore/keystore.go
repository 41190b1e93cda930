package redisstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
)

// DefaultKeyPrefix is the key prefix of a [KeyStore] when
// [KeyStoreOptions].Prefix is empty. Its hash tag, "{wicket:keys}", puts
// every key of the store in one Redis Cluster slot.
const DefaultKeyPrefix = "{wicket:keys}:"

// DefaultResyncInterval is how often a [KeyStore.Subscribe] subscriber
// checks the revocation epoch when [KeyStoreOptions].ResyncInterval is zero.
const DefaultResyncInterval = 5 * time.Second

// maxUpdateAttempts bounds the optimistic retries of one KeyStore.Update.
// Every failed attempt means another write to the same record succeeded, so
// only a record written this many times during one Update exhausts it.
const maxUpdateAttempts = 1000

// errContention is returned by Update when it lost maxUpdateAttempts races.
var errContention = errors.New("redisstore: too many concurrent updates of one key record")

// KeyStoreOptions configures a [KeyStore]. The zero value uses the defaults.
type KeyStoreOptions struct {
	// Prefix is prepended to every key the store writes and to its
	// revocation channel. Empty means DefaultKeyPrefix. The replicas of one
	// gateway use the same prefix.
	//
	// On Redis Cluster (and with a Ring) it must hold a hash tag, a "{",
	// then a "}" after it with at least one character between, as in
	// "{wicket:keys}:" or "app:{keys}:": the scripts touch several keys of
	// the store (a record, its digest index, the owner and global sets, the
	// revocation epoch), which must share one slot. NewKeyStore refuses a
	// Prefix without one when the client is a *redis.ClusterClient or a
	// *redis.Ring; it cannot tell for a *redis.Client connected to a
	// cluster's node. On a single server any prefix works.
	Prefix string

	// Timeout bounds each call the store makes to Redis: each read and
	// write of Get, Lookup, Create, Update (every attempt), Delete,
	// DeleteOwner and List, and the epoch reads of Subscribe's subscriber.
	// Zero means DefaultTimeout (100 ms); it must otherwise be at least a
	// millisecond. The bound holds whether or not the client applies
	// context deadlines to its sockets (see [KeyStore]). A write cut off by
	// it may still have been applied by the server, as with any lost reply;
	// DeleteOwner of an owner with very many keys may need a longer one.
	Timeout time.Duration

	// ResyncInterval is how often a subscriber (see [KeyStore.Subscribe])
	// reads the revocation epoch to catch a revocation whose message it
	// never received although its connection stayed up. Zero means
	// DefaultResyncInterval (5 s); negative disables the check (a
	// resubscription still resynchronises); a positive value must be at
	// least a millisecond. A lost message is caught within two intervals.
	ResyncInterval time.Duration
}

// KeyStore is a [keys.Store] on Redis, shared by every replica that uses the
// same server and prefix.
//
// Each record is a hash under "<prefix>rec:<id>" holding the record's JSON
// and, apart, what the JSON omits: its digest (hex) and pepper version. The
// digest index "<prefix>dig:<hex>" holds the ID; "<prefix>owner:<owner>"
// and "<prefix>all" are sorted sets of IDs (score 0, so ordered by ID) that
// List pages with ZRANGEBYLEX. Create, Update's write, Delete and
// DeleteOwner are Lua scripts, so the indexes always follow the records.
// Update is optimistic: it reads the record, applies fn to a copy and writes
// the result only if no other write came in between (a version number in the
// hash), else it starts again; fn may therefore run more than once and must
// not have side effects beyond the record.
//
// Every script that revokes, re-hashes, changes or removes a record (all
// writes but one that only moves LastUsedAt) counts the change in the
// revocation epoch, the hash "<prefix>epoch", and publishes the old digest
// with the epoch on the channel "<prefix>invalidate", in the same atomic
// step; see [KeyStore.Subscribe] for how replicas use both. The epoch
// stays when the records go (it is a few bytes). Every key a
// script touches is declared to Redis or derived from the prefix, so that a
// hash-tagged prefix keeps them in one Cluster slot.
//
// Each call to Redis is bounded by [KeyStoreOptions].Timeout. go-redis
// applies a context's deadline to socket reads and writes only when the
// client's ContextTimeoutEnabled option is set; without it, a server that
// accepts connections but does not answer would hold a call for the client's
// ReadTimeout (seconds). For such a client the store runs each call in a
// goroutine of its own and returns at the deadline, leaving that goroutine
// to end when the client gives up: set ContextTimeoutEnabled to spare it.
//
// Use [NewKeyStore]; the zero KeyStore is not usable. It is safe for
// concurrent use and starts no goroutine but those of Subscribe and the
// ones just described.
type KeyStore struct {
	client   redis.UniversalClient
	prefix   string
	channel  string
	timeout  time.Duration
	resync   time.Duration // 0: no periodic check
	ctxAware bool          // the client bounds socket I/O by context deadlines
}

var _ keys.Store = (*KeyStore)(nil)

// NewKeyStore returns a KeyStore on client. opts may be nil. It returns an
// error naming the field for invalid options.
func NewKeyStore(client redis.UniversalClient, opts *KeyStoreOptions) (*KeyStore, error) {
	if client == nil {
		return nil, errors.New("redisstore: NewKeyStore needs a client")
	}
	var o KeyStoreOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultKeyPrefix
	}
	if shardsByKey(client) && !hasHashTag(o.Prefix) {
		return nil, errors.New("redisstore: KeyStoreOptions.Prefix has no hash tag such as {wicket:keys}: on a cluster, the store's keys must share one slot")
	}
	d, err := timeout(o.Timeout, "KeyStoreOptions.Timeout")
	if err != nil {
		return nil, err
	}
	switch {
	case o.ResyncInterval < 0:
		o.ResyncInterval = 0
	case o.ResyncInterval == 0:
		o.ResyncInterval = DefaultResyncInterval
	case o.ResyncInterval < time.Millisecond:
		return nil, errors.New("redisstore: KeyStoreOptions.ResyncInterval is under a millisecond")
	}
	return &KeyStore{
		client:   client,
		prefix:   o.Prefix,
		channel:  o.Prefix + "invalidate",
		timeout:  d,
		resync:   o.ResyncInterval,
		ctxAware: honoursDeadlines(client),
	}, nil
}

// shardsByKey reports whether client spreads keys over several servers by
// their hash slot (or hash tag), so that a script's keys must share one.
func shardsByKey(client redis.UniversalClient) bool {
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		return true
	}
	return false
}

// Hash fields of a record that Go reads; the scripts also keep "owner",
// for Delete and DeleteOwner.
const (
	fieldData    = "data" // the record's JSON
	fieldDigest  = "dig"  // the digest, hex
	fieldPepper  = "pv"   // the pepper version, decimal
	fieldVersion = "ver"  // incremented by every write, for Update's check
)

func (s *KeyStore) recKey(id string) string           { return s.prefix + "rec:" + id }
func (s *KeyStore) digKey(d keys.Digest) string       { return s.prefix + "dig:" + hex.EncodeToString(d[:]) }
func (s *KeyStore) ownerKey(owner string) string      { return s.prefix + "owner:" + owner }
func (s *KeyStore) allKey() string                    { return s.prefix + "all" }
func (s *KeyStore) digKeyHex(hexDigest string) string { return s.prefix + "dig:" + hexDigest }
func (s *KeyStore) epochKey() string                  { return s.prefix + "epoch" }

// createScript adds a record unless its ID or digest is taken.
// KEYS: rec, dig, owner set, all set. ARGV: data, digest hex, pepper
// version, owner, id. Returns 1, or 0 if taken.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'dig', ARGV[2], 'pv', ARGV[3], 'owner', ARGV[4], 'ver', 1)
redis.call('SET', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], 0, ARGV[5])
redis.call('ZADD', KEYS[4], 0, ARGV[5])
return 1
`)

// updateScript writes an updated record if its version is still the one
// read. KEYS: rec, old dig, new dig, epoch. ARGV: expected version, data,
// new digest hex, pepper version, id, channel, old digest hex, publish ("1"
// or "0"), generation. Returns 1 when written, 0 when the record changed or
// is gone (read again), -1 when the new digest belongs to another record.
var updateScript = redis.NewScript(publishLua + `
local ver = redis.call('HGET', KEYS[1], 'ver')
if not ver or ver ~= ARGV[1] then
  return 0
end
if KEYS[2] ~= KEYS[3] then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    return -1
  end
  if redis.call('GET', KEYS[2]) == ARGV[5] then
    redis.call('DEL', KEYS[2])
  end
  redis.call('SET', KEYS[3], ARGV[5])
end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'dig', ARGV[3], 'pv', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
if ARGV[8] == '1' then
  publish(KEYS[4], ARGV[9], ARGV[6], ARGV[7])
end
return 1
`)

// removeLua removes the record with ID id (its hash, digest index entry
// and set members) and publishes its digest, counted in the epoch; it
// returns whether there was one. prefix and channel are the store's; the
// keys it derives from prefix share the slot of the declared ones when
// prefix holds a hash tag.
const removeLua = publishLua + `
local function remove(prefix, channel, epoch, gen, id)
  local rec = prefix .. 'rec:' .. id
  local f = redis.call('HMGET', rec, 'dig', 'owner')
  if not f[1] then
    return false
  end
  local dig = prefix .. 'dig:' .. f[1]
  if redis.call('GET', dig) == id then
    redis.call('DEL', dig)
  end
  redis.call('DEL', rec)
  redis.call('ZREM', prefix .. 'owner:' .. f[2], id)
  redis.call('ZREM', prefix .. 'all', id)
  publish(epoch, gen, channel, f[1])
  return true
end
`

// deleteScript removes one record. KEYS: rec, epoch. ARGV: prefix,
// channel, id, generation. Returns 1, or 0 if there was none.
var deleteScript = redis.NewScript(removeLua + `
if remove(ARGV[1], ARGV[2], KEYS[2], ARGV[4], ARGV[3]) then
  return 1
end
return 0
`)

// deleteOwnerScript removes every record of an owner. KEYS: owner set,
// epoch. ARGV: prefix, channel, generation. Returns how many it removed.
var deleteOwnerScript = redis.NewScript(removeLua + `
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if remove(ARGV[1], ARGV[2], KEYS[2], ARGV[3], id) then
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
`)

// Create implements [keys.Store].
func (s *KeyStore) Create(ctx context.Context, r *keys.Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("redisstore: encoding key record: %w", err)
	}
	n, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) (int, error) {
		return createScript.Run(ctx, s.client,
			[]string{s.recKey(r.ID), s.digKey(r.Digest), s.ownerKey(r.Owner), s.allKey()},
			data, hex.EncodeToString(r.Digest[:]), r.PepperVersion, r.Owner, r.ID).Int()
	})
	if err != nil {
		return wrapErr(err)
	}
	if n == 0 {
		return keys.ErrExists
	}
	return nil
}

// Lookup implements [keys.Store].
func (s *KeyStore) Lookup(ctx context.Context, d keys.Digest) (*keys.Record, error) {
	id, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) (string, error) {
		return s.client.Get(ctx, s.digKey(d)).Result()
	})
	if errors.Is(err, redis.Nil) {
		return nil, keys.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	r, _, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	// The record may have been re-hashed or replaced between the two reads.
	if r.Digest != d {
		return nil, keys.ErrNotFound
	}
	return r, nil
}

// Get implements [keys.Store].
func (s *KeyStore) Get(ctx context.Context, id string) (*keys.Record, error) {
	r, _, err := s.read(ctx, id)
	return r, err
}

// read returns the record with the ID and its version, or ErrNotFound.
func (s *KeyStore) read(ctx context.Context, id string) (*keys.Record, string, error) {
	vals, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) ([]any, error) {
		return s.client.HMGet(ctx, s.recKey(id), fieldData, fieldDigest, fieldPepper, fieldVersion).Result()
	})
	if err != nil {
		return nil, "", wrapErr(err)
	}
	return decodeRecord(id, vals)
}

// decodeRecord rebuilds a record from the HMGET of its data, digest, pepper
// version and version fields.
func decodeRecord(id string, vals []any) (*keys.Record, string, error) {
	if len(vals) != 4 {
		return nil, "", errReply
	}
	if vals[0] == nil {
		return nil, "", keys.ErrNotFound
	}
	data, ok1 := vals[0].(string)
	dig, ok2 := vals[1].(string)
	pv, ok3 := vals[2].(string)
	ver, ok4 := vals[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, "", errReply
	}
	r := new(keys.Record)
	if err := json.Unmarshal([]byte(data), r); err != nil {
		return nil, "", fmt.Errorf("redisstore: decoding key record: %w", err)
	}
	if err := r.Digest.UnmarshalText([]byte(dig)); err != nil {
		return nil, "", fmt.Errorf("redisstore: decoding key record: bad digest")
	}
	v, err := strconv.ParseUint(pv, 10, 32)
	if err != nil {
		return nil, "", fmt.Errorf("redisstore: decoding key record: bad pepper version")
	}
	r.PepperVersion = uint32(v)
	if r.ID != id {
		return nil, "", fmt.Errorf("redisstore: decoding key record: ID does not match its key")
	}
	return r, ver, nil
}

// Update implements [keys.Store]. fn runs once per attempt, on a fresh copy.
func (s *KeyStore) Update(ctx context.Context, id string, fn func(*keys.Record) error) (*keys.Record, error) {
	for range maxUpdateAttempts {
		old, ver, err := s.read(ctx, id)
		if err != nil {
			return nil, err
		}
		r := old.Clone()
		if err := fn(r); err != nil {
			return nil, err
		}
		r.ID, r.Owner = old.ID, old.Owner
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("redisstore: encoding key record: %w", err)
		}
		publish := "0"
		if changed, err := significantChange(old, r, data); err != nil {
			return nil, err
		} else if changed {
			publish = "1"
		}
		oldHex := hex.EncodeToString(old.Digest[:])
		n, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) (int, error) {
			return updateScript.Run(ctx, s.client,
				[]string{s.recKey(id), s.digKeyHex(oldHex), s.digKey(r.Digest), s.epochKey()},
				ver, data, hex.EncodeToString(r.Digest[:]), r.PepperVersion, id, s.channel, oldHex, publish, newGeneration()).Int()
		})
		if err != nil {
			return nil, wrapErr(err)
		}
		switch n {
		case 1:
			return r, nil
		case -1:
			return nil, keys.ErrExists
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return nil, errContention
}

// significantChange reports whether the update from old to r (whose JSON is
// data) changes more than LastUsedAt, so that caches must drop old.
func significantChange(old, r *keys.Record, data []byte) (bool, error) {
	if old.Digest != r.Digest || old.PepperVersion != r.PepperVersion {
		return true, nil
	}
	o := old.Clone()
	o.LastUsedAt = r.LastUsedAt
	od, err := json.Marshal(o)
	if err != nil {
		return false, fmt.Errorf("redisstore: encoding key record: %w", err)
	}
	return !bytes.Equal(od, data), nil
}

// Delete implements [keys.Store].
func (s *KeyStore) Delete(ctx context.Context, id string) error {
	n, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) (int, error) {
		return deleteScript.Run(ctx, s.client, []string{s.recKey(id), s.epochKey()},
			s.prefix, s.channel, id, newGeneration()).Int()
	})
	if err != nil {
		return wrapErr(err)
	}
	if n == 0 {
		return keys.ErrNotFound
	}
	return nil
}

// DeleteOwner implements [keys.Store]. It removes all of the owner's
// records in one script, which blocks the server for as long as it runs
// (and may outlast Timeout for an owner with very many keys: the call then
// returns an error, the script still completes, and calling again is safe).
func (s *KeyStore) DeleteOwner(ctx context.Context, owner string) (int, error) {
	n, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) (int, error) {
		return deleteOwnerScript.Run(ctx, s.client, []string{s.ownerKey(owner), s.epochKey()},
			s.prefix, s.channel, newGeneration()).Int()
	})
	if err != nil {
		return 0, wrapErr(err)
	}
	return n, nil
}

// List implements [keys.Store]. It reads the page's IDs, then their records
// in one pipeline; a record removed in between is left out of the page.
func (s *KeyStore) List(ctx context.Context, q keys.ListQuery) ([]*keys.Record, error) {
	set := s.allKey()
	if q.Owner != "" {
		set = s.ownerKey(q.Owner)
	}
	min := "-"
	if q.After != "" {
		min = "(" + q.After
	}
	ids, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) ([]string, error) {
		return s.client.ZRangeByLex(ctx, set, &redis.ZRangeBy{Min: min, Max: "+", Count: int64(q.PageSize())}).Result()
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(ids) == 0 {
		return []*keys.Record{}, nil
	}
	cmds, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) ([]*redis.SliceCmd, error) {
		cmds := make([]*redis.SliceCmd, len(ids))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HMGet(ctx, s.recKey(id), fieldData, fieldDigest, fieldPepper, fieldVersion)
			}
			return nil
		})
		return cmds, err
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	out := make([]*keys.Record, 0, len(ids))
	for i, cmd := range cmds {
		r, _, err := decodeRecord(ids[i], cmd.Val())
		if errors.Is(err, keys.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
