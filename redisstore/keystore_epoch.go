package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
)

// The revocation epoch counts the messages a KeyStore publishes, so that a
// subscriber can tell whether it missed any. It is the hash
// "<prefix>epoch" with two fields: "n", the number of messages published,
// incremented by the same script that publishes; and "gen", a random token
// set when the hash is created. A Redis that restarts empty, or loses the
// hash, starts again from another generation, so that a subscriber never
// takes a fresh count for the one it saw.
//
// Each message on the channel is "<gen>:<n> <digest hex>", n being the
// count that the message's own publication made.

// epoch is a value of the revocation epoch.
type epoch struct {
	gen string
	n   uint64
}

// follows reports whether e is the epoch right after prev: a message
// carrying e is the next one after the point prev describes.
func (e epoch) follows(prev epoch) bool { return e.gen == prev.gen && e.n == prev.n+1 }

// covers reports whether e is at or past other in the same generation:
// everything published up to other is counted in e.
func (e epoch) covers(other epoch) bool { return e.gen == other.gen && e.n >= other.n }

// publishLua counts a message in the epoch and publishes it with its
// count. epoch is the epoch's key, declared to Redis; gen is a fresh
// generation, used only if the hash is created here.
const publishLua = `
local function publish(epoch, gen, channel, hex)
  local g = redis.call('HGET', epoch, 'gen')
  if not g then
    g = gen
    redis.call('HSET', epoch, 'gen', g)
  end
  local n = redis.call('HINCRBY', epoch, 'n', 1)
  redis.call('PUBLISH', channel, string.format('%s:%d %s', g, n, hex))
end
`

// readEpochScript returns the epoch, creating it (at count 0) if it does
// not exist, so that a restart that loses it is seen as a new generation
// even when nothing was published since. KEYS: epoch. ARGV: generation.
// Returns {gen, n or false}.
var readEpochScript = redis.NewScript(`
redis.call('HSETNX', KEYS[1], 'gen', ARGV[1])
return redis.call('HMGET', KEYS[1], 'gen', 'n')
`)

// errEpoch reports an epoch hash of another shape than the store writes.
var errEpoch = errors.New("redisstore: malformed revocation epoch")

// readEpoch returns the store's revocation epoch, bounded by its Timeout.
func (s *KeyStore) readEpoch(ctx context.Context) (epoch, error) {
	vals, err := boundedCall(ctx, s.timeout, s.ctxAware, func(ctx context.Context) ([]any, error) {
		return readEpochScript.Run(ctx, s.client, []string{s.epochKey()}, newGeneration()).Slice()
	})
	if err != nil {
		return epoch{}, wrapErr(err)
	}
	if len(vals) != 2 {
		return epoch{}, errEpoch
	}
	gen, ok := vals[0].(string)
	if !ok || !validGeneration(gen) {
		return epoch{}, errEpoch
	}
	e := epoch{gen: gen}
	if vals[1] != nil {
		n, ok := vals[1].(string)
		if !ok {
			return epoch{}, errEpoch
		}
		if e.n, err = strconv.ParseUint(n, 10, 64); err != nil {
			return epoch{}, errEpoch
		}
	}
	return e, nil
}

// newGeneration returns a random generation token for an epoch the script
// it is passed to may have to create.
func newGeneration() string { return strconv.FormatUint(rand.Uint64(), 36) }

// validGeneration reports whether g is a generation token as newGeneration
// makes them: base 36, lower case.
func validGeneration(g string) bool {
	if g == "" || len(g) > 13 {
		return false
	}
	for i := range len(g) {
		if c := g[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// parseInvalidation reads a message of the revocation channel:
// "<gen>:<n> <digest hex>", or a bare digest as this package published
// before the epoch existed (a replica of an older version, during a
// rolling upgrade), which has no epoch (counted is false). ok is false for
// anything else, which the subscriber ignores.
func parseInvalidation(payload string) (e epoch, counted bool, d keys.Digest, ok bool) {
	head, digest, counted := strings.Cut(payload, " ")
	if !counted {
		digest = head
	}
	if d.UnmarshalText([]byte(digest)) != nil {
		return epoch{}, false, keys.Digest{}, false
	}
	if !counted {
		return epoch{}, false, d, true
	}
	gen, n, found := strings.Cut(head, ":")
	if !found || !validGeneration(gen) {
		return epoch{}, false, keys.Digest{}, false
	}
	e = epoch{gen: gen}
	var err error
	if e.n, err = strconv.ParseUint(n, 10, 64); err != nil || e.n == 0 {
		return epoch{}, false, keys.Digest{}, false
	}
	return e, true, d, true
}
