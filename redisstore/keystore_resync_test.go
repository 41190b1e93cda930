package redisstore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// eventuallyWithin bounds every wait for something a subscriber does: far
// above what it needs, so that a loaded machine does not fail the tests.
const eventuallyWithin = 5 * time.Second

var testIP = netip.MustParseAddr("192.0.2.1")

// newKeyStoreWith returns a KeyStore on c with opts.
func newKeyStoreWith(t *testing.T, c redis.UniversalClient, opts *redisstore.KeyStoreOptions) *redisstore.KeyStore {
	t.Helper()
	s, err := redisstore.NewKeyStore(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ownServer starts a redis-server for one test, which may stop and restart
// it without disturbing the others.
func ownServer(t *testing.T) *redistest.Server {
	t.Helper()
	s, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually polls cond until it holds, failing the test with what after
// eventuallyWithin.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventuallyWithin)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", eventuallyWithin, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// issue issues a key on m and returns it with its record.
func issue(t *testing.T, m *keys.Manager) (string, *keys.Record) {
	t.Helper()
	key, r, err := m.Issue(t.Context(), keys.Spec{Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return key, r
}

// cached verifies key on m, so that m caches it, and fails the test if m
// refuses it.
func cached(t *testing.T, m *keys.Manager, key string) {
	t.Helper()
	if _, err := m.Verify(t.Context(), key, testIP); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// refuses reports whether m refuses key.
func refuses(t *testing.T, m *keys.Manager, key string) bool {
	_, err := m.Verify(t.Context(), key, testIP)
	return err != nil
}

// forget removes r from the store behind its back: no message, no epoch.
// A Manager that still verifies r's key afterwards answers from its cache,
// and one that refuses it has emptied its cache.
func forget(t *testing.T, c redis.Cmdable, prefix string, r *keys.Record) {
	t.Helper()
	if err := c.Del(t.Context(), prefix+"rec:"+r.ID, prefix+"dig:"+hex.EncodeToString(r.Digest[:])).Err(); err != nil {
		t.Fatal(err)
	}
}

// subscribers returns how many clients subscribe to the store's channel.
func subscribers(t *testing.T, c redis.Cmdable, prefix string) int64 {
	n, err := c.PubSubNumSub(t.Context(), prefix+"invalidate").Result()
	if err != nil {
		return -1
	}
	return n[prefix+"invalidate"]
}

// gate is a TCP proxy to a Redis server that a test closes to new
// connections, as a network partition of one replica would: while closed,
// it accepts connections and drops them at once. Connections made while it
// was open go on working.
type gate struct {
	target string
	l      net.Listener
	open   atomic.Bool
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{target: target, l: l}
	g.open.Store(true)
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(g.close)
	return g
}

func (g *gate) addr() string { return g.l.Addr().String() }

func (g *gate) serve() {
	defer g.wg.Done()
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		if !g.open.Load() {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", g.target)
		if err != nil {
			c.Close()
			continue
		}
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		g.conns = append(g.conns, c, u)
		g.mu.Unlock()
		g.wg.Add(2)
		go g.pipe(c, u)
		go g.pipe(u, c)
	}
}

func (g *gate) pipe(dst, src net.Conn) {
	defer g.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (g *gate) close() {
	g.l.Close()
	g.mu.Lock()
	g.closed = true
	for _, c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// TestKeyStoreSubscribeEmptiesCacheFirst: a Manager that cached a key
// before Subscribe refuses it once Subscribe returns if it was revoked in
// between, since no message of that revocation could reach it.
func TestKeyStoreSubscribeEmptiesCacheFirst(t *testing.T) {
	p := redistest.Prefix(t)
	sa := newKeyStore(t, newClient(t), p)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	a, b := newManager(t, sa), newManager(t, sb)
	key, r := issue(t, a)
	cached(t, b, key)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	cached(t, b, key) // still served: nothing told b
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if !refuses(t, b, key) {
		t.Error("after Subscribe returned, b still verifies a key revoked before")
	}
}

// TestKeyStoreResyncAfterLostConnection (a): a replica whose subscriber
// connection is killed while another replica revokes a key, so that the
// message reaches no one, refuses the key once it has subscribed again.
func TestKeyStoreResyncAfterLostConnection(t *testing.T) {
	own := ownServer(t)
	admin := own.Client(t)
	g := newGate(t, own.Addr)
	cb := redis.NewClient(&redis.Options{Addr: g.addr()})
	t.Cleanup(func() { cb.Close() })
	p := redistest.Prefix(t)
	sa := newKeyStore(t, own.Client(t), p)
	// No periodic check: the resubscription alone must resynchronise.
	sb := newKeyStoreWith(t, cb, &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	key, r := issue(t, a)
	cached(t, b, key)
	other, otherRec := issue(t, a)
	cached(t, b, other)

	g.open.Store(false)
	if err := admin.ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if n := subscribers(t, admin, p); n != 0 {
		t.Fatalf("subscribers after the kill = %d; want 0", n)
	}
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	if n := subscribers(t, admin, p); n != 0 {
		t.Fatalf("subscribers when the revocation was published = %d; want 0 (the message must be lost)", n)
	}
	cached(t, b, key) // the message is lost: b still serves the key

	g.open.Store(true)
	eventually(t, "the subscriber subscribes again", func() bool { return subscribers(t, admin, p) == 1 })
	eventually(t, "the replica refuses the key revoked while it was away", func() bool { return refuses(t, b, key) })

	// Messages flow again, and a revocation reaches b.
	if _, err := a.Revoke(t.Context(), otherRec.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses a key revoked after it came back", func() bool { return refuses(t, b, other) })
}

// TestKeyStoreResyncAfterRestart (b): Redis restarts empty; the replica
// empties its cache once it has subscribed again (its keys are gone with
// the data), and revocations made after the restart reach it as messages,
// in order, without emptying the cache again.
func TestKeyStoreResyncAfterRestart(t *testing.T) {
	own := ownServer(t)
	admin := own.Client(t)
	p := redistest.Prefix(t)
	sa := newKeyStore(t, own.Client(t), p)
	sb := newKeyStoreWith(t, own.Client(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	key, _ := issue(t, a)
	cached(t, b, key)

	own.Stop()
	cached(t, b, key) // Redis is down; b answers from its cache
	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the subscriber subscribes again", func() bool { return subscribers(t, admin, p) == 1 })
	eventually(t, "the replica drops a key Redis lost in its restart", func() bool { return refuses(t, b, key) })

	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	forget(t, admin, p, keepRec)
	revoked, r := issue(t, a)
	cached(t, b, revoked)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses a key revoked after the restart", func() bool { return refuses(t, b, revoked) })
	if refuses(t, b, keep) {
		t.Error("a message in order after the restart emptied the cache")
	}
}

// TestKeyStoreSteadyStateKeepsCache (c): revocations, deletions and
// rotations whose messages arrive in order, and periodic checks that find
// the epoch where the messages left it, never empty the cache.
func TestKeyStoreSteadyStateKeepsCache(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	const interval = 50 * time.Millisecond
	sa := newKeyStore(t, newClient(t), p)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: interval})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	forget(t, c, p, keepRec)

	for i := range 30 {
		key, r := issue(t, a)
		cached(t, b, key)
		var err error
		switch i % 3 {
		case 0:
			_, err = a.Revoke(t.Context(), r.ID)
		case 1:
			err = a.Delete(t.Context(), r.ID)
		case 2:
			_, _, _, err = a.Rotate(t.Context(), r.ID, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, fmt.Sprintf("the replica refuses key %d", i), func() bool { return refuses(t, b, key) })
	}
	// Let a few periodic checks run: they find nothing amiss. (There is no
	// event to wait for; this waits for one not to happen.)
	time.Sleep(6 * interval)
	if refuses(t, b, keep) {
		t.Error("steady traffic emptied the cache")
	}
}

// TestKeyStorePeriodicCheckCatchesLostMessage (d): a write counted in the
// epoch whose message never arrives, the connection staying up, empties
// the cache at a periodic check; the epoch is then adopted, so the checks
// after it leave the cache alone.
func TestKeyStorePeriodicCheckCatchesLostMessage(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	const interval = 50 * time.Millisecond
	sa := newKeyStore(t, newClient(t), p)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: interval})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	key, r := issue(t, a)
	cached(t, b, key)
	forget(t, c, p, r)
	time.Sleep(4 * interval) // checks with nothing published keep the cache
	if refuses(t, b, key) {
		t.Fatal("a periodic check with nothing published emptied the cache")
	}

	if err := c.HIncrBy(t.Context(), p+"epoch", "n", 1).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a periodic check empties the cache after an epoch bump with no message", func() bool { return refuses(t, b, key) })

	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	forget(t, c, p, keepRec)
	time.Sleep(4 * interval)
	if refuses(t, b, keep) {
		t.Error("the checks after the resynchronisation emptied the cache again")
	}
}

// TestKeyStoreMessageGapEmptiesCache: a message whose count is not the
// next one tells that messages were lost, and empties the cache at once,
// without waiting for a check.
func TestKeyStoreMessageGapEmptiesCache(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	sa := newKeyStore(t, newClient(t), p)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	forget(t, c, p, keepRec)
	revoked, r := issue(t, a)
	cached(t, b, revoked)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil { // message 1, in order
		t.Fatal(err)
	}
	eventually(t, "the replica refuses the revoked key", func() bool { return refuses(t, b, revoked) })
	if refuses(t, b, keep) {
		t.Fatal("a message in order emptied the cache")
	}
	gen, err := c.HGet(t.Context(), p+"epoch", "gen").Result()
	if err != nil {
		t.Fatal(err)
	}
	other := hex.EncodeToString(make([]byte, 32))
	if err := c.Publish(t.Context(), p+"invalidate", gen+":3 "+other).Err(); err != nil { // 2 is missing
		t.Fatal(err)
	}
	eventually(t, "a gap in the messages empties the cache", func() bool { return refuses(t, b, keep) })
}

// TestKeyStoreSubscribeIgnoresMalformed: payloads of another shape change
// nothing, and a bare digest (as replicas of the previous version publish)
// still invalidates its key, without emptying the cache.
func TestKeyStoreSubscribeIgnoresMalformed(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	b := newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	keep, keepRec := issue(t, b)
	cached(t, b, keep)
	forget(t, c, p, keepRec)
	legacy, legacyRec := issue(t, b)
	cached(t, b, legacy)
	forget(t, c, p, legacyRec)
	d := hex.EncodeToString(keepRec.Digest[:])
	for _, payload := range []string{
		"", " ", "zz", d[:63], d + "0", d + " ", " " + d, "abc:1", "abc:1 " + d[:63],
		"ABC:1 " + d, "abc:0 " + d, "abc:-1 " + d, "abc:x " + d, ":1 " + d, "abc 1 " + d,
		"abc:1  " + d, "abc:1 " + d + " x", "abcdefghijklmn:1 " + d, "a-c:1 " + d,
	} {
		if err := c.Publish(t.Context(), p+"invalidate", payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Publish(t.Context(), p+"invalidate", hex.EncodeToString(legacyRec.Digest[:])).Err(); err != nil {
		t.Fatal(err)
	}
	// Messages are handled in order: once the last one is, so are the rest.
	eventually(t, "a bare digest invalidates its key", func() bool { return refuses(t, b, legacy) })
	if refuses(t, b, keep) {
		t.Error("malformed messages invalidated a key or emptied the cache")
	}
}

// TestKeyStoreSubscribeWhileRedisDown: Subscribe returns at once, without
// error, when Redis is down; the subscriber subscribes when Redis comes
// back, and revocations then reach the replica.
func TestKeyStoreSubscribeWhileRedisDown(t *testing.T) {
	own := ownServer(t)
	admin := own.Client(t)
	p := redistest.Prefix(t)
	sa := newKeyStore(t, own.Client(t), p)
	sb := newKeyStore(t, own.Client(t), p)
	a, b := newManager(t, sa), newManager(t, sb)
	own.Stop()
	start := time.Now()
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatalf("Subscribe with Redis down: %v; want nil (it keeps trying)", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Subscribe with Redis down took %v", d)
	}
	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the subscriber subscribes once Redis is back", func() bool { return subscribers(t, admin, p) == 1 })
	key, r := issue(t, a)
	cached(t, b, key)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses a revoked key", func() bool { return refuses(t, b, key) })
}

// TestKeyStoreSubscribeArguments: Subscribe refuses a nil Manager and a
// context already done.
func TestKeyStoreSubscribeArguments(t *testing.T) {
	s := newKeyStore(t, newClient(t), redistest.Prefix(t))
	if err := s.Subscribe(t.Context(), nil); err == nil {
		t.Error("Subscribe(nil Manager): got nil error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Subscribe(ctx, newManager(t, s)); err == nil {
		t.Error("Subscribe with a canceled context: got nil error")
	}
}

// TestKeyStoreUnreadableEpoch: when the epoch cannot be read at a
// subscription, the subscriber empties the cache and takes the next
// message's epoch as its own, without emptying the cache again.
func TestKeyStoreUnreadableEpoch(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	sa := newKeyStore(t, newClient(t), p)
	sb := newKeyStoreWith(t, newClient(t), &redisstore.KeyStoreOptions{Prefix: p, Timeout: eventuallyWithin, ResyncInterval: -1})
	a, b := newManager(t, sa), newManager(t, sb)
	// A key of another type: reading the epoch fails.
	if err := c.Set(t.Context(), p+"epoch", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the subscriber subscribes", func() bool { return subscribers(t, c, p) == 1 })
	if err := c.Del(t.Context(), p+"epoch").Err(); err != nil {
		t.Fatal(err)
	}
	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	forget(t, c, p, keepRec)
	revoked, r := issue(t, a)
	cached(t, b, revoked)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses the revoked key", func() bool { return refuses(t, b, revoked) })
	if refuses(t, b, keep) {
		t.Error("the first message after an unreadable epoch emptied the cache")
	}
}

// TestKeyStoreRingSubscribeWhileDown: on a Ring whose shards are all down
// (go-redis's Ring panics when asked for a PubSub then), Subscribe returns
// without error or panic, and the subscriber subscribes once the shard is
// back; revocations then reach the replica.
func TestKeyStoreRingSubscribeWhileDown(t *testing.T) {
	own := ownServer(t)
	admin := own.Client(t)
	newRing := func() *redis.Ring {
		r := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": own.Addr}, HeartbeatFrequency: 10 * time.Millisecond})
		t.Cleanup(func() { r.Close() })
		return r
	}
	ra, rb := newRing(), newRing()
	p := "{" + redistest.Prefix(t) + "}:"
	sa := newKeyStore(t, ra, p)
	sb := newKeyStore(t, rb, p)
	a, b := newManager(t, sa), newManager(t, sb)
	own.Stop()
	eventually(t, "the Ring finds its shard down", func() bool {
		err := rb.Get(t.Context(), p+"probe").Err()
		return err != nil && strings.Contains(err.Error(), "shards are down")
	})
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatalf("Subscribe with the Ring down: %v; want nil", err)
	}
	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the subscriber subscribes once the shard is back", func() bool { return subscribers(t, admin, p) == 1 })
	var key string
	var r *keys.Record
	eventually(t, "the Ring serves again", func() bool {
		k, rr, err := a.Issue(t.Context(), keys.Spec{Owner: "alice"})
		key, r = k, rr
		return err == nil
	})
	cached(t, b, key)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses a revoked key", func() bool { return refuses(t, b, key) })
}
