package keys_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/keys"
)

var noIP netip.Addr

func TestVerify(t *testing.T) {
	fx := newFixture(t, nil)
	key, rec := fx.issue(t, keys.Spec{Name: "laptop"})
	got, err := fx.m.Verify(t.Context(), key, noIP)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.ID != rec.ID || got.Owner != "alice" || got.Name != "laptop" || got.Role != keys.RoleUser {
		t.Errorf("Verify returned %+v; want the issued record %s", got, rec.ID)
	}
	if fx.store.sawSecret(key) {
		t.Error("the store received the plaintext key")
	}
}

func TestVerifyMalformedNeverTouchesStore(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{})
	for _, bad := range []string{"", "wk_", key[:len(key)-1], key + "x", "sk-" + key[3:], key[:5] + "!" + key[6:]} {
		if _, err := fx.m.Verify(t.Context(), bad, noIP); !errors.Is(err, keys.ErrMalformed) {
			t.Errorf("Verify(malformed): got %v; want ErrMalformed", err)
		}
	}
	if n := fx.store.lookups.Load(); n != 0 {
		t.Errorf("store lookups for malformed keys: got %d; want 0", n)
	}
}

func TestVerifyUnknown(t *testing.T) {
	fx := newFixture(t, nil)
	other, _ := fx.m.Format().Generate(nil)
	if _, err := fx.m.Verify(t.Context(), other, noIP); !errors.Is(err, keys.ErrUnknown) {
		t.Errorf("Verify(unknown): got %v; want ErrUnknown", err)
	}
	if fx.store.sawSecret(other) {
		t.Error("the store received the plaintext key")
	}
}

func TestVerifyCachesAndRevocationIsImmediate(t *testing.T) {
	fx := newFixture(t, nil)
	key, rec := fx.issue(t, keys.Spec{})
	for range 5 {
		if _, err := fx.m.Verify(t.Context(), key, noIP); err != nil {
			t.Fatal(err)
		}
	}
	if n := fx.store.lookups.Load(); n != 1 {
		t.Fatalf("store lookups for 5 verifications: got %d; want 1 (cache)", n)
	}
	if _, err := fx.m.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("Verify right after Revoke, warm cache: got %v; want ErrRevoked", err)
	}
	// The revoked record is cached too: repeated attempts do not hit the store.
	before := fx.store.lookups.Load()
	fx.m.Verify(t.Context(), key, noIP)
	if n := fx.store.lookups.Load() - before; n != 0 {
		t.Errorf("lookups for a cached revoked key: got %d; want 0", n)
	}
}

func TestRevocationByAnotherReplica(t *testing.T) {
	// Two managers share a store, as two replicas do. B revokes; A keeps its
	// cached record until CacheTTL passes, or until it is told.
	store := newSpyStore()
	h, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
	a := newFixtureWith(t, store, h, &keys.Options{CacheTTL: 10 * time.Second})
	b := newFixtureWith(t, store, h, nil)
	key, rec := a.issue(t, keys.Spec{})
	if _, err := a.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatalf("replica A within its TTL: got %v; want the cached record (the documented bound)", err)
	}
	a.clock.Advance(10 * time.Second)
	if _, err := a.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("replica A after CacheTTL: got %v; want ErrRevoked", err)
	}

	key2, rec2 := a.issue(t, keys.Spec{})
	a.m.Verify(t.Context(), key2, noIP)
	b.m.Revoke(t.Context(), rec2.ID)
	a.m.InvalidateID(rec2.ID) // what a revocation broadcast does
	if _, err := a.m.Verify(t.Context(), key2, noIP); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("replica A after InvalidateID: got %v; want ErrRevoked", err)
	}
}

func TestRevokeDuringInFlightLookup(t *testing.T) {
	// A lookup that read the record before a revocation must not put the
	// stale record into the cache after the revocation invalidated it.
	fx := newFixture(t, &keys.Options{TouchInterval: -1})
	key, rec := fx.issue(t, keys.Spec{})
	fx.store.block = make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := fx.m.Verify(context.Background(), key, noIP)
		done <- err
	}()
	<-fx.store.entered // the lookup has read the unrevoked record
	if _, err := fx.m.Revoke(context.Background(), rec.ID); err != nil {
		t.Fatal(err)
	}
	close(fx.store.block)
	if err := <-done; err != nil {
		t.Fatalf("the in-flight Verify, which began before the revocation: %v", err)
	}
	fx.store.block = nil
	if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrRevoked) {
		t.Fatalf("Verify after a revocation that raced a lookup: got %v; want ErrRevoked", err)
	}
}

func TestVerifyAfterInvalidationStartsItsOwnLookup(t *testing.T) {
	// A Verify that starts after an invalidation returns must not join a
	// store lookup that began before it (a slow store shows it), nor be
	// served with what that lookup read.
	for _, tc := range []struct {
		name       string
		invalidate func(t *testing.T, fx, other *fixture, rec *keys.Record)
		want       error
	}{
		{"Revoke", func(t *testing.T, fx, _ *fixture, rec *keys.Record) {
			if _, err := fx.m.Revoke(t.Context(), rec.ID); err != nil {
				t.Fatal(err)
			}
		}, keys.ErrRevoked},
		{"Delete", func(t *testing.T, fx, _ *fixture, rec *keys.Record) {
			if err := fx.m.Delete(t.Context(), rec.ID); err != nil {
				t.Fatal(err)
			}
		}, keys.ErrUnknown},
		{"DeleteOwner", func(t *testing.T, fx, _ *fixture, rec *keys.Record) {
			if _, err := fx.m.DeleteOwner(t.Context(), rec.Owner); err != nil {
				t.Fatal(err)
			}
		}, keys.ErrUnknown},
		{"Invalidate", func(t *testing.T, fx, other *fixture, rec *keys.Record) {
			if _, err := other.m.Revoke(t.Context(), rec.ID); err != nil {
				t.Fatal(err)
			}
			fx.m.Invalidate(rec.Digest) // a revocation broadcast from the other replica
		}, keys.ErrRevoked},
		{"InvalidateID", func(t *testing.T, fx, other *fixture, rec *keys.Record) {
			if _, err := other.m.Revoke(t.Context(), rec.ID); err != nil {
				t.Fatal(err)
			}
			fx.m.InvalidateID(rec.ID)
		}, keys.ErrRevoked},
		{"InvalidateAll", func(t *testing.T, fx, other *fixture, rec *keys.Record) {
			if _, err := other.m.Revoke(t.Context(), rec.ID); err != nil {
				t.Fatal(err)
			}
			fx.m.InvalidateAll() // a replica resynchronising after a lost broadcast
		}, keys.ErrRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newSpyStore()
			h, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
			fx := newFixtureWith(t, store, h, &keys.Options{TouchInterval: -1})
			other := newFixtureWith(t, store, h, nil) // another replica on the same store
			key, rec := fx.issue(t, keys.Spec{})

			held := store.holdLookup()
			doneA := make(chan error, 1)
			go func() {
				_, err := fx.m.Verify(context.Background(), key, noIP)
				doneA <- err
			}()
			<-held.entered // A's lookup has read the record as it was
			tc.invalidate(t, fx, other, rec)

			ctxB := newWaitSignal(context.Background())
			doneB := make(chan error, 1)
			go func() {
				_, err := fx.m.Verify(ctxB, key, noIP)
				doneB <- err
			}()
			<-ctxB.waiting // B has chosen the lookup it waits for
			close(held.release)
			<-doneA // A began before the invalidation: served or not, either is right
			if err := <-doneB; !errors.Is(err, tc.want) {
				t.Errorf("Verify B, started after %s returned: got %v; want %v", tc.name, err, tc.want)
			}
			if got := store.lookups.Load(); got != 2 {
				t.Errorf("store lookups: got %d; want 2 (B must not join A's)", got)
			}
			if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, tc.want) {
				t.Errorf("a later Verify: got %v; want %v", err, tc.want)
			}
		})
	}
}

func TestStaleLookupLeavesTheNewerOneShared(t *testing.T) {
	// A lookup that an invalidation made stale ends after its replacement
	// began; it must not remove the replacement, which later misses share.
	fx := newFixture(t, &keys.Options{TouchInterval: -1})
	key, rec := fx.issue(t, keys.Spec{})
	heldA, heldB := fx.store.holdLookup(), fx.store.holdLookup()
	doneA, doneB, doneC := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { _, err := fx.m.Verify(context.Background(), key, noIP); doneA <- err }()
	<-heldA.entered
	fx.m.InvalidateID(rec.ID)
	ctxB := newWaitSignal(context.Background())
	go func() { _, err := fx.m.Verify(ctxB, key, noIP); doneB <- err }()
	<-ctxB.waiting // B's lookup is in the map
	close(heldA.release)
	select {
	case <-heldB.entered:
	case err := <-doneB:
		t.Fatalf("Verify B joined the stale lookup (got %v); want a lookup of its own", err)
	}
	<-doneA // A's lookup has ended and left the map
	ctxC := newWaitSignal(context.Background())
	go func() { _, err := fx.m.Verify(ctxC, key, noIP); doneC <- err }()
	<-ctxC.waiting
	close(heldB.release)
	for name, done := range map[string]chan error{"B": doneB, "C": doneC} {
		if err := <-done; err != nil {
			t.Errorf("Verify %s: %v", name, err)
		}
	}
	if got := fx.store.lookups.Load(); got != 2 {
		t.Errorf("store lookups: got %d; want 2 (C shares B's)", got)
	}
}

func TestFailedRehashIsNotCached(t *testing.T) {
	// When rehashing under the current pepper fails, the store still
	// indexes the key by its old digest, which a revocation invalidates; a
	// record cached under the new digest would then outlive the revocation.
	store := newSpyStore()
	h1, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
	key, rec := newFixtureWith(t, store, h1, nil).issue(t, keys.Spec{})
	h2, _ := keys.NewHasher(keys.Pepper{Version: 2, Secret: testSecret('b')}, keys.Pepper{Version: 1, Secret: testSecret('a')})
	fx := newFixtureWith(t, store, h2, nil)
	store.failRehash.Store(true)
	if _, err := fx.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatalf("Verify with a failing rehash: got %v; want the key served", err)
	}
	if _, err := fx.m.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("Verify after Revoke: got %v; want ErrRevoked", err)
	}
}

func TestConcurrentMissesShareOneLookup(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{})
	fx.store.block = make(chan struct{})
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	started := make(chan struct{}, n)
	for range n {
		wg.Go(func() {
			started <- struct{}{}
			_, err := fx.m.Verify(context.Background(), key, noIP)
			errs <- err
		})
	}
	for range n {
		<-started
	}
	<-fx.store.entered
	// Callers that arrive after the lookup ends find the cache filled, so
	// however the goroutines interleave the store sees one lookup.
	close(fx.store.block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if got := fx.store.lookups.Load(); got != 1 {
		t.Errorf("store lookups for %d concurrent misses: got %d; want 1", n, got)
	}
}

func TestVerifyCallerCancelDoesNotFailOthers(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{})
	fx.store.block = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := fx.m.Verify(ctx, key, noIP)
		first <- err
	}()
	<-fx.store.entered
	second := make(chan error)
	go func() {
		_, err := fx.m.Verify(context.Background(), key, noIP)
		second <- err
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled caller: got %v; want context.Canceled", err)
	}
	close(fx.store.block)
	if err := <-second; err != nil {
		t.Errorf("the other caller: got %v; want success", err)
	}
}

func TestExpiry(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{ExpiresAt: fx.clock.Now().Add(time.Hour)})
	if _, err := fx.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(time.Hour - time.Nanosecond)
	if _, err := fx.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatalf("a nanosecond before expiry: %v", err)
	}
	fx.clock.Advance(time.Nanosecond)
	if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrExpired) {
		t.Fatalf("at expiry (warm cache): got %v; want ErrExpired", err)
	}
}

func TestRotationGrace(t *testing.T) {
	fx := newFixture(t, nil)
	oldKey, oldRec := fx.issue(t, keys.Spec{Name: "ci", Scopes: keys.Scopes{Models: []string{"gpt-4o*"}}, Limits: keys.Limits{RequestsPerMinute: 7}})
	fx.m.Verify(t.Context(), oldKey, noIP) // warm the cache
	newKey, next, prev, err := fx.m.Rotate(t.Context(), oldRec.ID, time.Hour)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newKey == oldKey || next.ID == oldRec.ID {
		t.Fatal("Rotate returned the old key")
	}
	if next.Name != "ci" || next.Limits.RequestsPerMinute != 7 || !next.Scopes.AllowsModel("gpt-4o-mini") || next.Scopes.AllowsModel("claude") {
		t.Errorf("successor did not keep the attributes: %+v", next)
	}
	if prev.ReplacedBy != next.ID || !prev.ExpiresAt.Equal(fx.clock.Now().Add(time.Hour)) {
		t.Errorf("old record: replaced_by %q, expires %v; want %q and now+1h", prev.ReplacedBy, prev.ExpiresAt, next.ID)
	}
	fx.clock.Advance(time.Hour - time.Nanosecond)
	for _, k := range []string{oldKey, newKey} {
		if _, err := fx.m.Verify(t.Context(), k, noIP); err != nil {
			t.Fatalf("within grace: %v", err)
		}
	}
	// The cache is warm: the end of the grace is checked on every hit.
	before := fx.store.lookups.Load()
	fx.clock.Advance(time.Nanosecond)
	if _, err := fx.m.Verify(t.Context(), oldKey, noIP); !errors.Is(err, keys.ErrExpired) {
		t.Errorf("old key at the end of grace (warm cache): got %v; want ErrExpired", err)
	}
	if n := fx.store.lookups.Load() - before; n != 0 {
		t.Errorf("lookups at the end of grace: got %d; want 0 (answered from the cache)", n)
	}
	if _, err := fx.m.Verify(t.Context(), newKey, noIP); err != nil {
		t.Errorf("new key after grace: %v", err)
	}
	// A grace of zero ends the old key at once, warm cache or not.
	k3, r3 := fx.issue(t, keys.Spec{})
	fx.m.Verify(t.Context(), k3, noIP)
	if _, _, _, err := fx.m.Rotate(t.Context(), r3.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Verify(t.Context(), k3, noIP); !errors.Is(err, keys.ErrExpired) {
		t.Errorf("old key after rotation without grace: got %v; want ErrExpired", err)
	}
	// A rotation never extends an earlier expiry.
	k4, r4 := fx.issue(t, keys.Spec{ExpiresAt: fx.clock.Now().Add(time.Minute)})
	_, _, p4, err := fx.m.Rotate(t.Context(), r4.ID, time.Hour)
	if err != nil || !p4.ExpiresAt.Equal(fx.clock.Now().Add(time.Minute)) {
		t.Errorf("rotation moved an earlier expiry: %v, %v", p4.ExpiresAt, err)
	}
	_ = k4
}

func TestAccount(t *testing.T) {
	fx := newFixture(t, nil)
	_, first := fx.issue(t, keys.Spec{Budget: keys.Budget{LimitMicros: 3}})
	if first.AccountID != first.ID || first.Account() != first.ID {
		t.Fatalf("issued key: AccountID %q, Account() %q; want its ID %q", first.AccountID, first.Account(), first.ID)
	}
	_, second, _, err := fx.m.Rotate(t.Context(), first.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, third, _, err := fx.m.Rotate(t.Context(), second.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rec  *keys.Record
	}{
		{"successor", second},
		{"successor's successor", third},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.Account(); got != first.ID {
				t.Errorf("Rotate result: got account %q; want the original key's %q", got, first.ID)
			}
			stored, err := fx.m.Get(t.Context(), tc.rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := stored.Account(); got != first.ID {
				t.Errorf("stored: got account %q; want %q", got, first.ID)
			}
			if got := tc.rec.Clone().AccountID; got != first.ID {
				t.Errorf("Clone: got AccountID %q; want %q", got, first.ID)
			}
		})
	}
	// A record stored before AccountID existed is its own account.
	if got := (&keys.Record{ID: "key_old"}).Account(); got != "key_old" {
		t.Errorf("Account() without AccountID: got %q; want the ID", got)
	}
}

func TestIPAllowlist(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{AllowedIPs: []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/48"),
	}})
	for _, tc := range []struct {
		ip string
		ok bool
	}{
		{"192.0.2.1", true}, {"192.0.2.255", true}, {"192.0.3.1", false}, {"10.0.0.1", false},
		{"::ffff:192.0.2.7", true}, {"2001:db8:1::1", true}, {"2001:db8:1:ffff::1", true},
		{"2001:db8:2::1", false}, {"::1", false},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			_, err := fx.m.Verify(t.Context(), key, netip.MustParseAddr(tc.ip))
			if tc.ok && err != nil {
				t.Errorf("got %v; want allowed", err)
			}
			if !tc.ok && !errors.Is(err, keys.ErrForbidden) {
				t.Errorf("got %v; want ErrForbidden", err)
			}
		})
	}
	if _, err := fx.m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrForbidden) {
		t.Errorf("unknown IP with an allowlist: got %v; want ErrForbidden", err)
	}
}

func TestPepperRotation(t *testing.T) {
	store := newSpyStore()
	h1, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
	v1 := newFixtureWith(t, store, h1, nil)
	key, rec := v1.issue(t, keys.Spec{})
	if rec.PepperVersion != 1 {
		t.Fatalf("pepper version %d; want 1", rec.PepperVersion)
	}
	// The application makes pepper 2 current and keeps 1 as previous.
	h2, err := keys.NewHasher(keys.Pepper{Version: 2, Secret: testSecret('b')}, keys.Pepper{Version: 1, Secret: testSecret('a')})
	if err != nil {
		t.Fatal(err)
	}
	v2 := newFixtureWith(t, store, h2, nil)
	if _, err := v2.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatalf("key hashed with the previous pepper: %v", err)
	}
	stored, _ := store.MemoryStore.Get(t.Context(), rec.ID)
	if stored.PepperVersion != 2 || stored.Digest != h2.Digest(key) {
		t.Fatalf("not rehashed: pepper version %d", stored.PepperVersion)
	}
	// Once every key is rehashed, the old pepper can go.
	h3, _ := keys.NewHasher(keys.Pepper{Version: 2, Secret: testSecret('b')})
	v3 := newFixtureWith(t, store, h3, nil)
	if _, err := v3.m.Verify(t.Context(), key, noIP); err != nil {
		t.Fatalf("after rehash, with pepper 2 only: %v", err)
	}
	// And a process that only knows pepper 1 no longer finds it.
	if _, err := newFixtureWith(t, store, h1, nil).m.Verify(t.Context(), key, noIP); !errors.Is(err, keys.ErrUnknown) {
		t.Fatalf("pepper-1-only process after rehash: got %v; want ErrUnknown", err)
	}
}

func TestNewHasherValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		cur  keys.Pepper
		prev []keys.Pepper
	}{
		"zero version": {keys.Pepper{Version: 0, Secret: testSecret('a')}, nil},
		"short secret": {keys.Pepper{Version: 1, Secret: []byte("short")}, nil},
		"dup version":  {keys.Pepper{Version: 1, Secret: testSecret('a')}, []keys.Pepper{{Version: 1, Secret: testSecret('b')}}},
	} {
		if _, err := keys.NewHasher(tc.cur, tc.prev...); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("%s: got %v; want ErrInvalid", name, err)
		}
	}
}

func TestDigestNeverPrinted(t *testing.T) {
	h, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: testSecret('a')})
	d := h.Digest("wk_anything")
	hex, _ := d.MarshalText()
	for _, s := range []string{d.String(), fmtAll(d), d.LogValue().String()} {
		if s != "[digest]" && s != "[digest] [digest] [digest] [digest]" {
			t.Errorf("digest printed as %q", s)
		}
		if len(hex) > 0 && containsAny(s, string(hex[:8])) {
			t.Errorf("digest hex leaked: %q", s)
		}
	}
	var back keys.Digest
	if err := back.UnmarshalText(hex); err != nil || back != d {
		t.Errorf("MarshalText round trip: %v", err)
	}
}

func TestLastUsedTouched(t *testing.T) {
	fx := newFixture(t, &keys.Options{CacheTTL: time.Minute})
	key, rec := fx.issue(t, keys.Spec{})
	fx.clock.Advance(2 * time.Minute)
	fx.m.Verify(t.Context(), key, noIP)
	got, _ := fx.m.Get(t.Context(), rec.ID)
	if !got.LastUsedAt.Equal(fx.clock.Now()) {
		t.Errorf("LastUsedAt = %v; want %v", got.LastUsedAt, fx.clock.Now())
	}
}

func TestDeleteOwner(t *testing.T) {
	fx := newFixture(t, nil)
	var aliceKeys []string
	for range 3 {
		k, _ := fx.issue(t, keys.Spec{Owner: "alice"})
		fx.m.Verify(t.Context(), k, noIP)
		aliceKeys = append(aliceKeys, k)
	}
	bobKey, _ := fx.issue(t, keys.Spec{Owner: "bob"})
	n, err := fx.m.DeleteOwner(t.Context(), "alice")
	if err != nil || n != 3 {
		t.Fatalf("DeleteOwner = %d, %v; want 3", n, err)
	}
	for _, k := range aliceKeys {
		if _, err := fx.m.Verify(t.Context(), k, noIP); !errors.Is(err, keys.ErrUnknown) {
			t.Errorf("deleted owner's key: got %v; want ErrUnknown", err)
		}
	}
	if _, err := fx.m.Verify(t.Context(), bobKey, noIP); err != nil {
		t.Errorf("other owner's key: %v", err)
	}
}

func TestIssueValidates(t *testing.T) {
	fx := newFixture(t, nil)
	big := map[string]string{}
	for i := range keys.MaxMetadata + 1 {
		big[string(rune('a'+i))] = "v"
	}
	for name, spec := range map[string]keys.Spec{
		"no owner":                   {},
		"bad role":                   {Owner: "a", Role: "root"},
		"negative limit":             {Owner: "a", Limits: keys.Limits{RequestsPerMinute: -1}},
		"negative budget":            {Owner: "a", Budget: keys.Budget{LimitMicros: -1}},
		"bad period":                 {Owner: "a", Budget: keys.Budget{LimitMicros: 1, Period: "yearly"}},
		"bad model budget period":    {Owner: "a", ModelBudgets: []keys.ModelBudget{{Model: "gpt-4o*", LimitMicros: 1, Period: "hourly"}}},
		"model budget without limit": {Owner: "a", ModelBudgets: []keys.ModelBudget{{Model: "gpt-4o*"}}},
		"model budget without model": {Owner: "a", ModelBudgets: []keys.ModelBudget{{LimitMicros: 5}}},
		"model budget twice":         {Owner: "a", ModelBudgets: []keys.ModelBudget{{Model: "m", LimitMicros: 5}, {Model: "m", LimitMicros: 6}}},
		"metadata":                   {Owner: "a", Metadata: big},
		"control char":               {Owner: "a\n"},
		"empty pattern":              {Owner: "a", Scopes: keys.Scopes{Models: []string{""}}},
		"invalid prefix":             {Owner: "a", AllowedIPs: []netip.Prefix{{}}},
	} {
		if _, _, err := fx.m.Issue(t.Context(), spec); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("%s: got %v; want ErrInvalid", name, err)
		}
	}
}

func TestScopesMatch(t *testing.T) {
	// Matching itself is tested in internal/glob; here, how Scopes use it.
	s := keys.Scopes{Models: []string{"gpt-4o*", "claude-*-4*"}, Endpoints: []string{"/v1/chat/*"}}
	for _, tc := range []struct {
		model string
		want  bool
	}{{"gpt-4o-mini", true}, {"claude-sonnet-4-5", true}, {"o3", false}} {
		if got := s.AllowsModel(tc.model); got != tc.want {
			t.Errorf("AllowsModel(%q) = %v; want %v", tc.model, got, tc.want)
		}
	}
	if !s.AllowsEndpoint("/v1/chat/completions") || s.AllowsEndpoint("/v1/embeddings") {
		t.Error("AllowsEndpoint")
	}
	if !(keys.Scopes{}).AllowsModel("anything") {
		t.Error("empty scopes must allow every model")
	}
}
