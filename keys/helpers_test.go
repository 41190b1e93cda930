package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/keys"
)

// clock is a settable time source for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// spyStore wraps a MemoryStore, counts calls, and remembers every string a
// record carried into it so tests can prove no plaintext key arrived.
type spyStore struct {
	*keys.MemoryStore
	lookups atomic.Int64
	mu      sync.Mutex
	seen    []string
	// If block is non-nil, Lookup reads the record, signals entered, then
	// waits on block before returning what it read.
	block   chan struct{}
	entered chan struct{}
	// gates hold Lookups one by one (see holdLookup).
	gates []*gate
	// failRehash makes Update fail when it would change a digest.
	failRehash atomic.Bool
}

// gate holds one Lookup: it closes entered once the Lookup has read the
// record, then waits for release.
type gate struct{ entered, release chan struct{} }

// holdLookup returns a gate for the next Lookup that no earlier gate holds.
func (s *spyStore) holdLookup() *gate {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.gates = append(s.gates, g)
	s.mu.Unlock()
	return g
}

func newSpyStore() *spyStore {
	return &spyStore{MemoryStore: keys.NewMemoryStore(), entered: make(chan struct{}, 1)}
}

func (s *spyStore) remember(r *keys.Record) {
	b, _ := json.Marshal(r)
	txt, _ := r.Digest.MarshalText()
	s.mu.Lock()
	s.seen = append(s.seen, string(b), string(txt), string(r.Digest[:]))
	s.mu.Unlock()
}

func (s *spyStore) Create(ctx context.Context, r *keys.Record) error {
	s.remember(r)
	return s.MemoryStore.Create(ctx, r)
}

func (s *spyStore) Update(ctx context.Context, id string, fn func(*keys.Record) error) (*keys.Record, error) {
	return s.MemoryStore.Update(ctx, id, func(r *keys.Record) error {
		before := r.Digest
		err := fn(r)
		s.remember(r)
		if err == nil && s.failRehash.Load() && r.Digest != before {
			return errors.New("spy: rehash refused")
		}
		return err
	})
}

func (s *spyStore) Lookup(ctx context.Context, d keys.Digest) (*keys.Record, error) {
	s.lookups.Add(1)
	var g *gate
	s.mu.Lock()
	if len(s.gates) > 0 {
		g, s.gates = s.gates[0], s.gates[1:]
	}
	s.mu.Unlock()
	r, err := s.MemoryStore.Lookup(ctx, d)
	if g != nil {
		close(g.entered)
		<-g.release
	}
	if s.block != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.block
	}
	return r, err
}

// sawSecret reports whether any record that reached the store contained
// the key, or its random part, in any field.
func (s *spyStore) sawSecret(key string) bool {
	_, random, _ := strings.Cut(key, "_")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.seen {
		if strings.Contains(v, key) || strings.Contains(v, random[:20]) || bytes.Contains([]byte(v), []byte(random[10:30])) {
			return true
		}
	}
	return false
}

// waitSignal is a context that closes waiting the first time its Done
// channel is asked for. Manager.Verify asks only once it has chosen the
// lookup it waits for, which tells a test that the choice is made.
type waitSignal struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func newWaitSignal(ctx context.Context) *waitSignal {
	return &waitSignal{Context: ctx, waiting: make(chan struct{})}
}

func (c *waitSignal) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// fakeThrottle is a Throttle whose blocks the test sets; it records Fail
// calls.
type fakeThrottle struct {
	mu      sync.Mutex
	blocked map[netip.Addr]time.Duration
	asked   []time.Time // the now of each Blocked call
	fails   []failure
}

type failure struct {
	ip  netip.Addr
	now time.Time
}

func newFakeThrottle() *fakeThrottle {
	return &fakeThrottle{blocked: map[netip.Addr]time.Duration{}}
}

func (f *fakeThrottle) block(ip netip.Addr, retry time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[ip] = retry
}

func (f *fakeThrottle) Blocked(ip netip.Addr, now time.Time) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, now)
	retry, ok := f.blocked[ip]
	return retry, ok, nil
}

func (f *fakeThrottle) Fail(ip netip.Addr, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = append(f.fails, failure{ip, now})
	retry, ok := f.blocked[ip]
	return retry, ok
}

func (f *fakeThrottle) failures() []failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.fails)
}

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, keys.MinSecretLen) }

type fixture struct {
	m     *keys.Manager
	store *spyStore
	clock *clock
}

func newFixture(t testing.TB, opts *keys.Options) *fixture {
	t.Helper()
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWith(t, newSpyStore(), h, opts)
}

func newFixtureWith(t testing.TB, store *spyStore, h *keys.Hasher, opts *keys.Options) *fixture {
	t.Helper()
	c := newClock()
	var o keys.Options
	if opts != nil {
		o = *opts
	}
	o.Now = c.Now
	m, err := keys.NewManager(store, h, &o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{m: m, store: store, clock: c}
}

func (f *fixture) issue(t testing.TB, spec keys.Spec) (string, *keys.Record) {
	t.Helper()
	if spec.Owner == "" {
		spec.Owner = "alice"
	}
	key, rec, err := f.m.Issue(context.Background(), spec)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return key, rec
}

func fmtAll(d keys.Digest) string { return fmt.Sprintf("%v %s %x %+v", d, d, d, d) }

func containsAny(s, sub string) bool { return strings.Contains(s, sub) }
