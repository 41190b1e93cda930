// Package keystest is a conformance suite for keys.Store implementations.
// A backend author calls Run from a test with a function that returns a
// new, empty store:
//
//	func TestConformance(t *testing.T) {
//		keystest.RunStoreTests(t, func(t *testing.T) keys.Store { return newMyStore(t) })
//	}
package keystest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/keys"
)

// RunStoreTests runs every conformance test against stores made by newStore. Each
// subtest gets a fresh store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) keys.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, keys.Store)
	}{
		{"CreateGetLookup", testCreateGetLookup},
		{"CreateDuplicate", testCreateDuplicate},
		{"NotFound", testNotFound},
		{"ReturnsCopies", testReturnsCopies},
		{"Update", testUpdate},
		{"UpdateDigest", testUpdateDigest},
		{"UpdateError", testUpdateError},
		{"Delete", testDelete},
		{"ListOrderAndPaging", testList},
		{"DeleteOwner", testDeleteOwner},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"CanceledContext", testCanceled},
		{"AccountID", testAccountID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// record returns a fully populated record with distinct values for n.
func record(n int, owner string) *keys.Record {
	var d keys.Digest
	d[0], d[1], d[31] = byte(n), byte(n>>8), 0xA5
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Second)
	return &keys.Record{
		ID:            fmt.Sprintf("key_%04d", n),
		Digest:        d,
		PepperVersion: 1,
		Hint:          fmt.Sprintf("wk_…%04d", n),
		Owner:         owner,
		Name:          "name " + fmt.Sprint(n),
		Role:          keys.RoleUser,
		Scopes:        keys.Scopes{Models: []string{"gpt-4o*"}, Endpoints: []string{"/v1/*"}},
		AllowedIPs:    []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		ExpiresAt:     created.Add(24 * time.Hour),
		Limits:        keys.Limits{RequestsPerMinute: 60, TokensPerMinute: 1000, MaxConcurrent: 2},
		Budget:        keys.Budget{LimitMicros: 5_000_000, Period: keys.PeriodMonthly},
		Metadata:      map[string]string{"team": "x"},
		CreatedAt:     created,
		AccountID:     fmt.Sprintf("acct_%04d", n),
	}
}

var cmpRecords = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func ctx(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, s keys.Store, r *keys.Record) {
	t.Helper()
	if err := s.Create(ctx(t), r); err != nil {
		t.Fatalf("Create(%s): %v", r.ID, err)
	}
}

func testCreateGetLookup(t *testing.T, s keys.Store) {
	want := record(1, "alice")
	mustCreate(t, s, want)
	got, err := s.Get(ctx(t), want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpRecords); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	got, err = s.Lookup(ctx(t), want.Digest)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpRecords); diff != "" {
		t.Errorf("Lookup mismatch (-want +got):\n%s", diff)
	}
}

func testCreateDuplicate(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	sameID := record(2, "alice")
	sameID.ID = r.ID
	if err := s.Create(ctx(t), sameID); !errors.Is(err, keys.ErrExists) {
		t.Errorf("Create with a taken ID: got %v; want ErrExists", err)
	}
	sameDigest := record(3, "alice")
	sameDigest.Digest = r.Digest
	if err := s.Create(ctx(t), sameDigest); !errors.Is(err, keys.ErrExists) {
		t.Errorf("Create with a taken digest: got %v; want ErrExists", err)
	}
	if _, err := s.Get(ctx(t), sameDigest.ID); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("a refused Create left a record behind: Get got %v; want ErrNotFound", err)
	}
}

func testNotFound(t *testing.T, s keys.Store) {
	if _, err := s.Get(ctx(t), "key_none"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Get: got %v; want ErrNotFound", err)
	}
	if _, err := s.Lookup(ctx(t), keys.Digest{1}); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Lookup: got %v; want ErrNotFound", err)
	}
	if _, err := s.Update(ctx(t), "key_none", func(*keys.Record) error { return nil }); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Update: got %v; want ErrNotFound", err)
	}
	if err := s.Delete(ctx(t), "key_none"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Delete: got %v; want ErrNotFound", err)
	}
	if n, err := s.DeleteOwner(ctx(t), "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteOwner(nobody): got %d, %v; want 0, nil", n, err)
	}
}

func testReturnsCopies(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	r.Name, r.Scopes.Models[0], r.Metadata["team"] = "changed", "changed", "changed"
	got, err := s.Get(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "name 1" || got.Scopes.Models[0] != "gpt-4o*" || got.Metadata["team"] != "x" {
		t.Fatalf("store kept the caller's record instead of a copy: %+v", got)
	}
	got.Name, got.Scopes.Models[0], got.Metadata["team"] = "changed", "changed", "changed"
	again, err := s.Get(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != "name 1" || again.Scopes.Models[0] != "gpt-4o*" || again.Metadata["team"] != "x" {
		t.Errorf("Get returned the stored record, not a copy: %+v", again)
	}
}

func testUpdate(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	revoked := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.Update(ctx(t), r.ID, func(r *keys.Record) error {
		r.RevokedAt, r.Name = revoked, "renamed"
		r.Suspension = keys.Suspension{Reason: "leaked", At: revoked, Until: revoked.Add(time.Hour)}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := record(1, "alice")
	want.RevokedAt, want.Name = revoked, "renamed"
	want.Suspension = keys.Suspension{Reason: "leaked", At: revoked, Until: revoked.Add(time.Hour)}
	if diff := cmp.Diff(want, got, cmpRecords); diff != "" {
		t.Errorf("Update result (-want +got):\n%s", diff)
	}
	stored, err := s.Lookup(ctx(t), r.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stored, cmpRecords); diff != "" {
		t.Errorf("stored after Update (-want +got):\n%s", diff)
	}
}

func testUpdateDigest(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	other := record(2, "alice")
	mustCreate(t, s, other)
	var nd keys.Digest
	nd[5] = 9
	if _, err := s.Update(ctx(t), r.ID, func(r *keys.Record) error { r.Digest, r.PepperVersion = nd, 2; return nil }); err != nil {
		t.Fatalf("Update digest: %v", err)
	}
	if _, err := s.Lookup(ctx(t), r.Digest); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("old digest still found after rehash: %v", err)
	}
	got, err := s.Lookup(ctx(t), nd)
	if err != nil || got.ID != r.ID || got.PepperVersion != 2 {
		t.Errorf("Lookup(new digest) = %+v, %v; want %s with pepper 2", got, err, r.ID)
	}
	if _, err := s.Update(ctx(t), r.ID, func(r *keys.Record) error { r.Digest = other.Digest; return nil }); !errors.Is(err, keys.ErrExists) {
		t.Errorf("Update onto another record's digest: got %v; want ErrExists", err)
	}
}

func testUpdateError(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	boom := errors.New("boom")
	if _, err := s.Update(ctx(t), r.ID, func(r *keys.Record) error { r.Name = "lost"; return boom }); !errors.Is(err, boom) {
		t.Errorf("Update: got %v; want the callback's error", err)
	}
	got, _ := s.Get(ctx(t), r.ID)
	if got.Name != r.Name {
		t.Errorf("a failed Update stored its change: name %q; want %q", got.Name, r.Name)
	}
}

func testDelete(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	if err := s.Delete(ctx(t), r.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx(t), r.ID); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Get after Delete: got %v; want ErrNotFound", err)
	}
	if _, err := s.Lookup(ctx(t), r.Digest); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Lookup after Delete: got %v; want ErrNotFound", err)
	}
	if recs, _ := s.List(ctx(t), keys.ListQuery{Owner: "alice"}); len(recs) != 0 {
		t.Errorf("List after Delete: got %d records; want 0", len(recs))
	}
	mustCreate(t, s, r) // the ID and digest are free again
}

func ids(recs []*keys.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func testList(t *testing.T, s keys.Store) {
	for _, n := range []int{5, 3, 1, 4, 2} {
		mustCreate(t, s, record(n, "alice"))
	}
	mustCreate(t, s, record(6, "bob"))
	all, err := s.List(ctx(t), keys.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"key_0001", "key_0002", "key_0003", "key_0004", "key_0005", "key_0006"}, ids(all)); diff != "" {
		t.Errorf("List all (-want +got):\n%s", diff)
	}
	var pages [][]string
	q := keys.ListQuery{Owner: "alice", Limit: 2}
	for range 10 {
		page, err := s.List(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, ids(page))
		q.After = page[len(page)-1].ID
	}
	want := [][]string{{"key_0001", "key_0002"}, {"key_0003", "key_0004"}, {"key_0005"}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("paged List of alice (-want +got):\n%s", diff)
	}
	after, _ := s.List(ctx(t), keys.ListQuery{After: "key_00025"})
	if diff := cmp.Diff([]string{"key_0003", "key_0004", "key_0005", "key_0006"}, ids(after)); diff != "" {
		t.Errorf("List after an ID that does not exist (-want +got):\n%s", diff)
	}
}

func testDeleteOwner(t *testing.T, s keys.Store) {
	for n := 1; n <= 3; n++ {
		mustCreate(t, s, record(n, "alice"))
	}
	mustCreate(t, s, record(4, "bob"))
	n, err := s.DeleteOwner(ctx(t), "alice")
	if err != nil || n != 3 {
		t.Fatalf("DeleteOwner(alice) = %d, %v; want 3, nil", n, err)
	}
	for i := 1; i <= 3; i++ {
		r := record(i, "alice")
		if _, err := s.Lookup(ctx(t), r.Digest); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("alice's %s still found by digest: %v", r.ID, err)
		}
	}
	rest, _ := s.List(ctx(t), keys.ListQuery{})
	if diff := cmp.Diff([]string{"key_0004"}, ids(rest)); diff != "" {
		t.Errorf("left after DeleteOwner (-want +got):\n%s", diff)
	}
}

func testConcurrentUpdates(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := s.Update(ctx(t), r.ID, func(r *keys.Record) error {
				r.Limits.RequestsPerMinute++
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.Get(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := r.Limits.RequestsPerMinute + n; got.Limits.RequestsPerMinute != want {
		t.Errorf("after %d concurrent increments: got %d; want %d (Update is not atomic)", n, got.Limits.RequestsPerMinute, want)
	}
}

func testCanceled(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	mustCreate(t, s, r)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := s.Get(c, r.ID); err == nil {
		t.Errorf("Get with a canceled context: got nil error; want one")
	}
	if err := s.Create(c, record(2, "alice")); err == nil {
		t.Errorf("Create with a canceled context: got nil error; want one")
	}
}

// testAccountID checks that AccountID, which carries a rotated key's spend
// and budget over to its successor, survives every operation.
func testAccountID(t *testing.T, s keys.Store) {
	r := record(1, "alice")
	r.AccountID = "key_0000" // a predecessor's ID
	mustCreate(t, s, r)
	check := func(op string, got *keys.Record, want string) {
		t.Helper()
		if got.AccountID != want {
			t.Errorf("%s: got AccountID %q; want %q", op, got.AccountID, want)
		}
	}
	got, err := s.Get(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Get", got, "key_0000")
	if got, err = s.Lookup(ctx(t), r.Digest); err != nil {
		t.Fatal(err)
	}
	check("Lookup", got, "key_0000")
	if got, err = s.Update(ctx(t), r.ID, func(r *keys.Record) error { r.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	check("Update result, another field changed", got, "key_0000")
	if got, err = s.Get(ctx(t), r.ID); err != nil {
		t.Fatal(err)
	}
	check("Get after Update", got, "key_0000")
	if got, err = s.Update(ctx(t), r.ID, func(r *keys.Record) error { r.AccountID = "key_other"; return nil }); err != nil {
		t.Fatal(err)
	}
	check("Update result, AccountID changed", got, "key_other")
	if got, err = s.Lookup(ctx(t), r.Digest); err != nil {
		t.Fatal(err)
	}
	check("Lookup after Update", got, "key_other")
	list, err := s.List(ctx(t), keys.ListQuery{Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("List: got %d records; want 1", len(list))
	}
	check("List", list[0], "key_other")
}
