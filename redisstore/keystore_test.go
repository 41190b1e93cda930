package redisstore_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/keys/keystest"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// newKeyStore returns a KeyStore on c under prefix.
func newKeyStore(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.KeyStore {
	t.Helper()
	s, err := redisstore.NewKeyStore(c, &redisstore.KeyStoreOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyStoreConformance(t *testing.T) {
	keystest.RunStoreTests(t, func(t *testing.T) keys.Store {
		return newKeyStore(t, newClient(t), redistest.Prefix(t))
	})
}

func TestNewKeyStoreNilClient(t *testing.T) {
	if _, err := redisstore.NewKeyStore(nil, nil); err == nil {
		t.Fatal("NewKeyStore(nil): got nil error")
	}
}

// rec returns a record with a digest made of n.
func rec(n byte, id, owner string) *keys.Record {
	var d keys.Digest
	for i := range d {
		d[i] = n ^ byte(i)
	}
	return &keys.Record{
		ID: id, Digest: d, PepperVersion: 3, Hint: "wk_…abcd", Owner: owner, Role: keys.RoleUser,
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		CreatedAt:  time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

// scanKeys returns every key under prefix, sorted.
func scanKeys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	ks, err := c.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ks)
	return ks
}

func TestKeyStoreLayout(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	s := newKeyStore(t, c, p)
	r := rec(7, "key_a", "alice")
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	dh := hex.EncodeToString(r.Digest[:])
	want := []string{p + "all", p + "dig:" + dh, p + "owner:alice", p + "rec:key_a"}
	if diff := cmp.Diff(want, scanKeys(t, c, p)); diff != "" {
		t.Fatalf("keys after Create (-want +got):\n%s", diff)
	}
	if id, _ := c.Get(t.Context(), p+"dig:"+dh).Result(); id != "key_a" {
		t.Errorf("digest index holds %q; want key_a", id)
	}
	h, err := c.HGetAll(t.Context(), p+"rec:key_a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if h["dig"] != dh || h["pv"] != "3" || h["owner"] != "alice" {
		t.Errorf("record hash fields: %v", h)
	}
	if strings.Contains(h["data"], dh) || !strings.Contains(h["data"], `"id":"key_a"`) {
		t.Errorf("record JSON: %s; want the record without its digest", h["data"])
	}

	// A re-hash moves the digest index.
	nd := rec(9, "", "").Digest
	if _, err := s.Update(t.Context(), "key_a", func(r *keys.Record) error { r.Digest = nd; return nil }); err != nil {
		t.Fatal(err)
	}
	// It is published, and counted in the revocation epoch, which stays.
	ndh := hex.EncodeToString(nd[:])
	want = []string{p + "all", p + "dig:" + ndh, p + "epoch", p + "owner:alice", p + "rec:key_a"}
	if diff := cmp.Diff(want, scanKeys(t, c, p)); diff != "" {
		t.Errorf("keys after a re-hash (-want +got):\n%s", diff)
	}
	epochOnly := []string{p + "epoch"}

	if err := s.Delete(t.Context(), "key_a"); err != nil {
		t.Fatal(err)
	}
	if left := scanKeys(t, c, p); !slices.Equal(left, epochOnly) {
		t.Errorf("Delete left keys behind: %v; want the epoch only", left)
	}
	for i, id := range []string{"key_b", "key_c"} {
		if err := s.Create(t.Context(), rec(byte(i+20), id, "bob")); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteOwner(t.Context(), "bob"); err != nil || n != 2 {
		t.Fatalf("DeleteOwner = %d, %v; want 2, nil", n, err)
	}
	if left := scanKeys(t, c, p); !slices.Equal(left, epochOnly) {
		t.Errorf("DeleteOwner left keys behind: %v; want the epoch only", left)
	}
	if n, _ := c.HGet(t.Context(), p+"epoch", "n").Result(); n != "4" {
		t.Errorf("epoch count %q after a re-hash and three removals; want 4", n)
	}
}

func TestKeyStoreDefaultPrefix(t *testing.T) {
	c := newClient(t)
	s, err := redisstore.NewKeyStore(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "key_" + strings.ReplaceAll(redistest.Prefix(t), ":", "_")
	r := rec(1, id, id) // an owner of its own, so that tests never collide
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	if n, _ := c.Exists(t.Context(), redisstore.DefaultKeyPrefix+"rec:"+id).Result(); n != 1 {
		t.Errorf("record not under the default prefix %q", redisstore.DefaultKeyPrefix)
	}
}

func TestKeyStoreReplicasShareByPrefix(t *testing.T) {
	p := redistest.Prefix(t)
	a, b := newKeyStore(t, newClient(t), p), newKeyStore(t, newClient(t), p)
	other := newKeyStore(t, newClient(t), p+"other:")
	r := rec(1, "key_a", "alice")
	if err := a.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Lookup(t.Context(), r.Digest); err != nil || got.ID != "key_a" || got.PepperVersion != 3 {
		t.Errorf("replica Lookup = %+v, %v", got, err)
	}
	if err := b.Create(t.Context(), rec(1, "key_b", "alice")); !errors.Is(err, keys.ErrExists) {
		t.Errorf("replica Create of a taken digest: %v; want ErrExists", err)
	}
	if _, err := other.Get(t.Context(), "key_a"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("another prefix sees the record: %v", err)
	}
	if list, err := other.List(t.Context(), keys.ListQuery{}); err != nil || len(list) != 0 {
		t.Errorf("another prefix lists %d records, %v", len(list), err)
	}
}

func TestKeyStoreListOddIDs(t *testing.T) {
	s := newKeyStore(t, newClient(t), redistest.Prefix(t))
	ids := []string{"(x", "-", "+", "[a", "a b", "é", "\x00"}
	for i, id := range ids {
		if err := s.Create(t.Context(), rec(byte(i), id, "o")); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(ids)
	var got []string
	q := keys.ListQuery{Owner: "o", Limit: 2}
	for range 10 {
		page, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			got = append(got, r.ID)
		}
		q.After = page[len(page)-1].ID
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("paged IDs (-want +got):\n%s", diff)
	}
}

func TestKeyStoreCorruptRecord(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	s := newKeyStore(t, c, p)
	if err := s.Create(t.Context(), rec(1, "key_a", "alice")); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(t.Context(), p+"rec:key_a", "data", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(t.Context(), "key_a")
	if err == nil || errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Get of a corrupt record: %v; want a store failure", err)
	}
	if _, err := s.List(t.Context(), keys.ListQuery{}); err == nil {
		t.Error("List with a corrupt record: got nil error")
	}
}

// published subscribes to the store's channel and returns a function that
// waits for the next message, or "" after a short wait.
func published(t *testing.T, c *redis.Client, prefix string) func() string {
	t.Helper()
	ps := c.Subscribe(t.Context(), prefix+"invalidate")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	ch := ps.Channel()
	return func() string {
		select {
		case m := <-ch:
			return m.Payload
		case <-time.After(300 * time.Millisecond):
			return ""
		}
	}
}

func TestKeyStorePublishes(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	s := newKeyStore(t, c, p)
	next := published(t, newClient(t), p)
	// Each message is "<generation>:<count> <digest>", counted from 1 in one
	// generation, the epoch's.
	var gen string
	count := 0
	expect := func(what, got, digest string) {
		t.Helper()
		count++
		head, d, _ := strings.Cut(got, " ")
		g, n, _ := strings.Cut(head, ":")
		if gen == "" {
			gen = g
		}
		if d != digest || g != gen || g == "" || n != strconv.Itoa(count) {
			t.Errorf("%s published %q; want %s:%d %s", what, got, gen, count, digest)
		}
	}
	r := rec(1, "key_a", "alice")
	dh := hex.EncodeToString(r.Digest[:])
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "" {
		t.Errorf("Create published %q", got)
	}
	if _, err := s.Update(t.Context(), "key_a", func(r *keys.Record) error { r.LastUsedAt = time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "" {
		t.Errorf("a LastUsedAt touch published %q; want nothing", got)
	}
	if _, err := s.Update(t.Context(), "key_a", func(r *keys.Record) error { return errors.New("no") }); err == nil {
		t.Fatal("Update: want fn's error")
	}
	if got := next(); got != "" {
		t.Errorf("a failed Update published %q", got)
	}
	if _, err := s.Update(t.Context(), "key_a", func(r *keys.Record) error { r.RevokedAt = time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	expect("revocation", next(), dh)
	nd := rec(2, "", "").Digest
	if _, err := s.Update(t.Context(), "key_a", func(r *keys.Record) error { r.Digest = nd; return nil }); err != nil {
		t.Fatal(err)
	}
	expect("re-hash (the old digest)", next(), dh)
	if err := s.Delete(t.Context(), "key_a"); err != nil {
		t.Fatal(err)
	}
	expect("Delete", next(), hex.EncodeToString(nd[:]))
	var want []string
	for i, id := range []string{"key_b", "key_c"} {
		r := rec(byte(i+10), id, "bob")
		want = append(want, hex.EncodeToString(r.Digest[:]))
		if err := s.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteOwner(t.Context(), "bob"); err != nil {
		t.Fatal(err)
	}
	for _, d := range want {
		expect("DeleteOwner", next(), d)
	}
	h, err := c.HGetAll(t.Context(), p+"epoch").Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"gen": gen, "n": "5"}, h); diff != "" {
		t.Errorf("epoch after five messages (-want +got):\n%s", diff)
	}
}

// newManager returns a Manager on s that trusts its cache for an hour, so
// that only an invalidation makes it read s again.
func newManager(t *testing.T, s keys.Store) *keys.Manager {
	t.Helper()
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := keys.NewManager(s, h, &keys.Options{CacheTTL: time.Hour, TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeyStoreSubscribeInvalidatesReplicas(t *testing.T) {
	p := redistest.Prefix(t)
	sa, sb := newKeyStore(t, newClient(t), p), newKeyStore(t, newClient(t), p)
	a, b, c := newManager(t, sa), newManager(t, sb), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	key, r, err := a.Issue(t.Context(), keys.Spec{Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*keys.Manager{b, c} {
		if _, err := m.Verify(t.Context(), key, ip); err != nil {
			t.Fatalf("Verify before revocation: %v", err)
		}
	}
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := b.Verify(t.Context(), key, ip)
		if errors.Is(err, keys.ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribed replica still verifies a revoked key: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The replica that did not subscribe still serves its cache: the
	// broadcast is what made the difference.
	if _, err := c.Verify(t.Context(), key, ip); err != nil {
		t.Errorf("unsubscribed replica: %v; want its cached answer", err)
	}
}

func TestKeyStoreSubscribeStopsWithContext(t *testing.T) {
	c := newClient(t)
	p := redistest.Prefix(t)
	s := newKeyStore(t, c, p)
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Subscribe(ctx, newManager(t, s)); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		n, err := c.PubSubNumSub(t.Context(), p+"invalidate").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[p+"invalidate"]
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no subscription after Subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	deadline = time.Now().Add(5 * time.Second)
	for count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscription outlived its context")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
