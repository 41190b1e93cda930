package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
)

// auditedFixture returns a fixture whose Manager audits into a memory sink,
// and a function that flushes the auditor and returns the events.
func auditedFixture(t *testing.T) (*fixture, func() []audit.Event) {
	t.Helper()
	sink := &audit.MemorySink{}
	aud, err := audit.New(sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = aud.Close(context.Background()) })
	fx := newFixture(t, &keys.Options{Auditor: aud})
	return fx, func() []audit.Event {
		t.Helper()
		if err := aud.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sink.Events()
	}
}

func TestSuspendRefusesUntilItLapses(t *testing.T) {
	fx, events := auditedFixture(t)
	ctx := context.Background()
	key, rec := fx.issue(t, keys.Spec{})
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); err != nil { // cached now
		t.Fatal(err)
	}
	start := fx.clock.Now()
	got, err := fx.m.Suspend(ctx, rec.ID, "rate_jump", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := keys.Suspension{Reason: "rate_jump", At: start, Until: start.Add(10 * time.Minute)}
	if diff := cmp.Diff(want, got.Suspension); diff != "" {
		t.Errorf("Suspension (-want +got):\n%s", diff)
	}
	// Refused at once, although the record was cached.
	_, err = fx.m.Verify(ctx, key, netip.Addr{})
	if !errors.Is(err, keys.ErrSuspended) {
		t.Fatalf("Verify of a suspended key: got %v; want ErrSuspended", err)
	}
	if s, c := keys.StatusCode(err), keys.ErrorCode(err); s != http.StatusForbidden || c != "api_key_suspended" {
		t.Errorf("status %d, code %q; want 403 api_key_suspended", s, c)
	}
	if msg := keys.PublicMessage(err); !strings.Contains(msg, "suspended") {
		t.Errorf("PublicMessage %q does not say suspended", msg)
	}
	fx.clock.Advance(10*time.Minute - time.Nanosecond)
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); !errors.Is(err, keys.ErrSuspended) {
		t.Fatalf("a nanosecond before it lapses: got %v; want ErrSuspended", err)
	}
	fx.clock.Advance(time.Nanosecond)
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); err != nil {
		t.Fatalf("after it lapsed: got %v; want nil", err)
	}

	// Until lifted: a year later it still holds; Unsuspend ends it at once.
	if _, err := fx.m.Suspend(ctx, rec.ID, "leaked", 0); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(365 * 24 * time.Hour)
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); !errors.Is(err, keys.ErrSuspended) {
		t.Fatalf("indefinite suspension a year on: got %v; want ErrSuspended", err)
	}
	lifted, err := fx.m.Unsuspend(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if lifted.Suspension != (keys.Suspension{}) {
		t.Errorf("after Unsuspend: Suspension %+v; want zero", lifted.Suspension)
	}
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); err != nil {
		t.Fatalf("after Unsuspend: got %v; want nil", err)
	}
	// Lifting a key that is not suspended changes nothing and emits nothing.
	if _, err := fx.m.Unsuspend(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}

	var acts []audit.Event
	for _, ev := range events() {
		if ev.Action == audit.ActionKeySuspended || ev.Action == audit.ActionKeyUnsuspended {
			ev.Time = time.Time{}
			acts = append(acts, ev)
		}
	}
	wantEvents := []audit.Event{
		{Action: audit.ActionKeySuspended, Outcome: audit.OutcomeAllowed, Reason: audit.ReasonRateJump, Subject: rec.ID, Owner: "alice"},
		{Action: audit.ActionKeySuspended, Outcome: audit.OutcomeAllowed, Reason: audit.ReasonLeaked, Subject: rec.ID, Owner: "alice"},
		{Action: audit.ActionKeyUnsuspended, Outcome: audit.OutcomeAllowed, Subject: rec.ID, Owner: "alice"},
	}
	if !slices.Equal(wantEvents, acts) {
		t.Errorf("audit events:\n got %+v\nwant %+v", acts, wantEvents)
	}
}

func TestSuspendNeverShortens(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := context.Background()
	_, rec := fx.issue(t, keys.Spec{})
	start := fx.clock.Now()
	steps := []struct {
		reason string
		d      time.Duration
		want   keys.Suspension
	}{
		{"rate_jump", time.Hour, keys.Suspension{Reason: "rate_jump", At: start, Until: start.Add(time.Hour)}},
		// Shorter: kept as it was.
		{"token_jump", 10 * time.Minute, keys.Suspension{Reason: "rate_jump", At: start, Until: start.Add(time.Hour)}},
		// Longer: extended, first reason and start kept.
		{"token_jump", 2 * time.Hour, keys.Suspension{Reason: "rate_jump", At: start, Until: start.Add(2 * time.Hour)}},
		// Indefinite wins, and stays.
		{"leaked", 0, keys.Suspension{Reason: "rate_jump", At: start}},
		{"rate_jump", time.Minute, keys.Suspension{Reason: "rate_jump", At: start}},
	}
	for i, st := range steps {
		got, err := fx.m.Suspend(ctx, rec.ID, st.reason, st.d)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if diff := cmp.Diff(st.want, got.Suspension); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
	// Once a timed suspension has lapsed, a new one starts afresh.
	if _, err := fx.m.Unsuspend(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Suspend(ctx, rec.ID, "rate_jump", time.Minute); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(time.Hour)
	got, err := fx.m.Suspend(ctx, rec.ID, "refusal_burst", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := fx.clock.Now()
	if want := (keys.Suspension{Reason: "refusal_burst", At: now, Until: now.Add(time.Minute)}); got.Suspension != want {
		t.Errorf("after a lapse: %+v; want %+v", got.Suspension, want)
	}
}

func TestSuspendInvalid(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := context.Background()
	key, rec := fx.issue(t, keys.Spec{})
	for _, reason := range []string{"", "Leaked", "two words", "new\nline", strings.Repeat("a", keys.MaxSuspensionReasonLen+1), "é"} {
		if _, err := fx.m.Suspend(ctx, rec.ID, reason, 0); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("reason %q: got %v; want ErrInvalid", reason, err)
		}
	}
	if _, err := fx.m.Suspend(ctx, "key_nope", "leaked", 0); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("unknown ID: got %v; want ErrNotFound", err)
	}
	if _, err := fx.m.Unsuspend(ctx, "key_nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Unsuspend of an unknown ID: got %v; want ErrNotFound", err)
	}
	if _, err := fx.m.Revoke(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Suspend(ctx, rec.ID, "leaked", 0); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("revoked key: got %v; want ErrInvalid", err)
	}
	if _, err := fx.m.Verify(ctx, key, netip.Addr{}); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("revoked key verifies with %v; want ErrRevoked", err)
	}
}

func TestSuspendedKeyCanBeRotated(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := context.Background()
	oldKey, rec := fx.issue(t, keys.Spec{})
	if err := fx.m.SuspendLeaked(ctx, rec); err != nil {
		t.Fatal(err)
	}
	newKey, next, prev, err := fx.m.Rotate(ctx, rec.ID, 0)
	if err != nil {
		t.Fatalf("Rotate of a suspended key: %v", err)
	}
	if next.Suspension != (keys.Suspension{}) || prev.Suspension.Reason != "leaked" {
		t.Errorf("successor suspension %+v, predecessor %+v", next.Suspension, prev.Suspension)
	}
	if _, err := fx.m.Verify(ctx, newKey, netip.Addr{}); err != nil {
		t.Errorf("successor: %v", err)
	}
	if _, err := fx.m.Verify(ctx, oldKey, netip.Addr{}); err == nil {
		t.Error("the suspended predecessor verifies after rotation")
	}
}

func TestSuspendedListing(t *testing.T) {
	fx := newFixture(t, nil)
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		owner := "alice"
		if i%2 == 1 {
			owner = "bob"
		}
		_, rec := fx.issue(t, keys.Spec{Owner: owner})
		ids = append(ids, rec.ID)
	}
	// 0, 2 (alice) and 3 (bob) suspended now; 4 lapses; 5 revoked while suspended.
	for _, i := range []int{0, 2, 3} {
		if _, err := fx.m.Suspend(ctx, ids[i], "rate_jump", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.m.Suspend(ctx, ids[4], "rate_jump", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Suspend(ctx, ids[5], "rate_jump", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.m.Revoke(ctx, ids[5]); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(time.Minute)
	list := func(q keys.ListQuery) []string {
		t.Helper()
		recs, err := fx.m.Suspended(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	want := sorted(ids[0], ids[2], ids[3])
	if diff := cmp.Diff(want, list(keys.ListQuery{})); diff != "" {
		t.Errorf("all suspended (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(ids[0], ids[2]), list(keys.ListQuery{Owner: "alice"})); diff != "" {
		t.Errorf("alice's (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:2], list(keys.ListQuery{After: want[0], Limit: 1})); diff != "" {
		t.Errorf("page after the first (-want +got):\n%s", diff)
	}
}

func TestForbiddenErrorNamesTheKey(t *testing.T) {
	fx := newFixture(t, nil)
	key, rec := fx.issue(t, keys.Spec{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	_, err := fx.m.Verify(context.Background(), key, netip.MustParseAddr("192.0.2.1"))
	fe, ok := errors.AsType[*keys.ForbiddenError](err)
	if !ok || fe.KeyID != rec.ID || !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("IP refusal: got %#v; want a *ForbiddenError for %s wrapping ErrForbidden", err, rec.ID)
	}
	if msg := keys.PublicMessage(err); msg != "Forbidden: client IP not allowed for this key." {
		t.Errorf("PublicMessage: %q", msg)
	}
	if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "192.0.2.1") {
		t.Errorf("error %q carries the key or the address", err)
	}
}

func TestAdminSuspension(t *testing.T) {
	e := newAdminEnv(t)
	alice := e.create(t, `{"owner":"alice"}`)
	alice2 := e.create(t, `{"owner":"alice","name":"second"}`)
	bob := e.create(t, `{"owner":"bob"}`)

	// A user suspends her own key; the key is refused at once, with 403.
	status, body := e.call(t, alice2.Key, "POST", "/keys/"+alice.Record.ID+"/suspend", `{"reason":"leaked","seconds":3600}`)
	if status != 200 {
		t.Fatalf("suspend own key: %d %s", status, body)
	}
	var rec keys.Record
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	now := e.fx.clock.Now()
	if want := (keys.Suspension{Reason: "leaked", At: now, Until: now.Add(time.Hour)}); !rec.Suspension.At.Equal(want.At) || !rec.Suspension.Until.Equal(want.Until) || rec.Suspension.Reason != "leaked" {
		t.Errorf("suspension in the answer: %+v; want %+v", rec.Suspension, want)
	}
	if status, body = e.call(t, alice.Key, "GET", "/keys", ""); status != 403 || !strings.Contains(string(body), "api_key_suspended") {
		t.Errorf("the suspended key on the admin API: %d %s; want 403 api_key_suspended", status, body)
	}
	// Another owner's key is not found; lifting needs an admin key.
	if status, _ = e.call(t, alice2.Key, "POST", "/keys/"+bob.Record.ID+"/suspend", `{"reason":"leaked"}`); status != 404 {
		t.Errorf("suspend another owner's key: %d; want 404", status)
	}
	if status, _ = e.call(t, alice2.Key, "POST", "/keys/"+alice.Record.ID+"/unsuspend", ""); status != 403 {
		t.Errorf("user lifts a suspension: %d; want 403", status)
	}
	for _, bad := range []string{`{"reason":"Leaked!"}`, `{"reason":"leaked","seconds":-1}`, `{"reason":"leaked","seconds":99999999999}`, `{"reason":"leaked","extra":1}`, ``} {
		if status, body = e.call(t, e.adminKey, "POST", "/keys/"+bob.Record.ID+"/suspend", bad); status != 400 {
			t.Errorf("suspend with %q: %d %s; want 400", bad, status, body)
		}
	}
	if status, body = e.call(t, e.adminKey, "POST", "/keys/"+bob.Record.ID+"/suspend", `{"reason":"rate_jump"}`); status != 200 {
		t.Fatalf("admin suspends bob's key: %d %s", status, body)
	}

	listIDs := func(key, query string) []string {
		t.Helper()
		status, body := e.call(t, key, "GET", "/keys?suspended=true"+query, "")
		if status != 200 {
			t.Fatalf("list suspended: %d %s", status, body)
		}
		var page struct {
			Data []keys.Record `json:"data"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, r := range page.Data {
			ids = append(ids, r.ID)
		}
		return ids
	}
	both := []string{alice.Record.ID, bob.Record.ID}
	slices.Sort(both)
	if diff := cmp.Diff(both, listIDs(e.adminKey, "")); diff != "" {
		t.Errorf("admin's list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{alice.Record.ID}, listIDs(alice2.Key, "")); diff != "" {
		t.Errorf("alice's list (-want +got):\n%s", diff)
	}
	if status, _ = e.call(t, e.adminKey, "GET", "/keys?suspended=yes", ""); status != 400 {
		t.Errorf("suspended=yes: %d; want 400", status)
	}

	// The admin lifts alice's suspension: her key works at once.
	if status, body = e.call(t, e.adminKey, "POST", "/keys/"+alice.Record.ID+"/unsuspend", ""); status != 200 {
		t.Fatalf("unsuspend: %d %s", status, body)
	}
	if status, body = e.call(t, alice.Key, "GET", "/keys", ""); status != 200 {
		t.Errorf("lifted key: %d %s; want 200", status, body)
	}
	if diff := cmp.Diff([]string{bob.Record.ID}, listIDs(e.adminKey, "")); diff != "" {
		t.Errorf("admin's list after lifting (-want +got):\n%s", diff)
	}
}

// With Manager.SuspendLeaked as the scanner's action, a reported key is
// suspended pending review, not revoked: refused at once with 403, and
// back in use once an administrator lifts the suspension.
func TestSecretScanningSuspendsPendingReview(t *testing.T) {
	var m *keys.Manager
	e := newScanEnv(t, &keys.ScanOptions{Action: func(ctx context.Context, rec *keys.Record) error { return m.SuspendLeaked(ctx, rec) }})
	m = e.fx.m
	key, rec := e.fx.issue(t, keys.Spec{})
	if status, b := e.report(t, reportBody(t, key)); status != http.StatusOK {
		t.Fatalf("report: %d %s", status, b)
	}
	if _, err := m.Verify(context.Background(), key, netip.Addr{}); !errors.Is(err, keys.ErrSuspended) {
		t.Fatalf("reported key: got %v; want ErrSuspended", err)
	}
	got, err := m.Get(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.IsZero() || got.Suspension.Reason != "leaked" || !got.Suspension.Until.IsZero() {
		t.Errorf("record after the report: revoked %v, suspension %+v; want not revoked, suspended until lifted for leaked", got.RevokedAt, got.Suspension)
	}
	if _, err := m.Unsuspend(context.Background(), rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(context.Background(), key, netip.Addr{}); err != nil {
		t.Errorf("after review: %v", err)
	}
	var acts []audit.Action
	for _, ev := range e.events(t) {
		if ev.Subject == rec.ID && ev.Action != audit.ActionKeyIssued {
			acts = append(acts, ev.Action)
		}
	}
	if want := []audit.Action{audit.ActionKeySuspended, audit.ActionKeyLeaked, audit.ActionKeyUnsuspended}; !slices.Equal(acts, want) {
		t.Errorf("audit actions %v; want %v", acts, want)
	}
}
