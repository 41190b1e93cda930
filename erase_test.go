package wicket_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/fake"
)

// erasingRecorder is a Recorder that keeps events and erases an owner's.
type erasingRecorder struct {
	mu  sync.Mutex
	evs []metering.Event
}

func (r *erasingRecorder) Record(_ context.Context, ev metering.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

func (r *erasingRecorder) EraseOwner(_ context.Context, owner string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept, n := r.evs[:0], 0
	for _, ev := range r.evs {
		if ev.Owner == owner {
			n++
			continue
		}
		kept = append(kept, ev)
	}
	r.evs = kept
	return n, nil
}

func (r *erasingRecorder) owners() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, ev := range r.evs {
		m[ev.Owner]++
	}
	return m
}

// TestEraseOwner: after EraseOwner no store holds anything for the owner
// (keys, ledger accounts of its keys and of itself, usage counts, the
// recorder's events), its keys fail at once, and other owners are
// untouched; the admin API serves it to admin keys only.
func TestEraseOwner(t *testing.T) {
	rec := &erasingRecorder{}
	ledger, _ := metering.NewMemoryLedger(nil)
	e := newEnv(t, single("fake-echo", fake.NewProvider(nil), ""), func(c *wicket.Config) {
		c.Recorder, c.Ledger = rec, ledger
		c.BudgetScopes = ownerBudget(func(string) (int64, metering.Period) { return 1_000_000, metering.PeriodMonthly })
	})
	ctx := t.Context()
	carolKey, carol, err := e.km.Issue(ctx, keys.Spec{Owner: "carol", Budget: keys.Budget{LimitMicros: 500_000, Period: keys.PeriodTotal},
		ModelBudgets: []keys.ModelBudget{{Model: "fake-*", LimitMicros: 400_000, Period: keys.PeriodDaily}}})
	if err != nil {
		t.Fatal(err)
	}
	rotatedKey, _, _, err := e.km.Rotate(ctx, carol.ID, time.Hour) // the successor shares the account
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"fake-echo","messages":[{"role":"user","content":"hello"}]}`
	for _, k := range []string{carolKey, rotatedKey, e.key} {
		if w := serve(e.gw, k, body); w.Code != 200 {
			t.Fatalf("call: %d %s", w.Code, w.Body)
		}
		<-e.outcome
	}
	if err := e.gw.Close(ctx); err != nil { // deliver the queued events
		t.Fatal(err)
	}
	keyAcct := metering.Account{Kind: metering.AccountKey, ID: carol.Account(), Limit: 500_000, Period: metering.PeriodTotal}
	ownerAcct := metering.Account{Kind: metering.AccountOwner, ID: "carol", Limit: 1_000_000, Period: metering.PeriodMonthly}
	modelAcct := metering.Account{Kind: metering.AccountKeyModel, ID: carol.Account() + ":fake-*", Limit: 400_000, Period: metering.PeriodDaily}
	for _, a := range []metering.Account{keyAcct, modelAcct} {
		if bal, _ := ledger.Balance(ctx, a); bal.Spent == 0 {
			t.Fatalf("carol's %s account spent nothing before the erasure", a.Kind)
		}
	}

	er, err := e.gw.EraseOwner(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if er.Keys != 2 || er.LedgerAccounts != 3 || er.UsageCounts != 1 || er.Recorder != 2 {
		t.Errorf("erasure %+v; want 2 keys, 3 ledger accounts (owner, key, key's model budget), 1 usage count, 2 events", er)
	}
	for _, k := range []string{carolKey, rotatedKey} {
		if w := serve(e.gw, k, body); w.Code != http.StatusUnauthorized {
			t.Errorf("an erased key: %d; want 401 at once", w.Code)
		}
	}
	if recs, _ := e.km.List(ctx, keys.ListQuery{Owner: "carol"}); len(recs) != 0 {
		t.Errorf("%d key records left", len(recs))
	}
	for _, a := range []metering.Account{keyAcct, ownerAcct, modelAcct} {
		if bal, _ := ledger.Balance(ctx, a); bal.Spent != 0 || bal.Reserved != 0 {
			t.Errorf("ledger %s %s after erasure: %+v", a.Kind, a.ID, bal)
		}
	}
	if u, err := e.gw.KeyUsage(ctx, carol); err != nil || u.Requests != 0 {
		t.Errorf("usage counts after erasure: %+v, %v", u, err)
	}
	if o := rec.owners(); o["carol"] != 0 || o["alice"] != 1 {
		t.Errorf("recorder events by owner %v; want none of carol's and alice's one", o)
	}
	if bal, _ := ledger.Balance(ctx, metering.Account{Kind: metering.AccountKey, ID: e.rec.Account(), Period: metering.PeriodMonthly}); bal.Spent == 0 {
		t.Error("alice's spend was erased too")
	}

	// The admin API: admin keys only.
	adminKey, _, err := e.km.Issue(ctx, keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.gw.Admin(nil)
	for _, tc := range []struct {
		key    string
		status int
	}{{e.key, http.StatusForbidden}, {adminKey, http.StatusOK}} {
		r := httptest.NewRequest("DELETE", "/owners/alice", nil)
		r.Header.Set("Authorization", "Bearer "+tc.key)
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Fatalf("DELETE /owners/alice: %d %s; want %d", w.Code, w.Body, tc.status)
		}
		if tc.status == http.StatusOK {
			var got wicket.Erasure
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Owner != "alice" || got.Keys != 1 {
				t.Errorf("report %s; want alice's erasure with 1 key", w.Body)
			}
			if strings.Contains(w.Body.String(), e.key) {
				t.Error("the report holds a key")
			}
		}
	}
}

// erasingSink is an audit sink that opts in to erasure.
type erasingSink struct{ audit.MemorySink }

func (s *erasingSink) EraseOwner(_ context.Context, owner string) (int, error) {
	n := 0
	for _, e := range s.Events() {
		if e.Owner == owner {
			n++
		}
	}
	return n, nil // a real sink deletes them; counting is enough to show the call
}

// TestEraseOwnerAuditSink: an audit sink that implements OwnerEraser is
// asked to erase the owner's events; the erasure itself is audited.
func TestEraseOwnerAuditSink(t *testing.T) {
	sink := &erasingSink{}
	gw, km, a := auditEnv(t, sink, &audit.Options{MaxWait: time.Millisecond}, nil)
	if _, _, err := km.Issue(t.Context(), keys.Spec{Owner: "erin"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); sink.Len() == 0; { // let key.issued reach the sink
		if time.Now().After(deadline) {
			t.Fatal("the key.issued event never reached the sink")
		}
		time.Sleep(time.Millisecond)
	}
	er, err := gw.EraseOwner(t.Context(), "erin")
	if err != nil || er.AuditSink != 1 || er.Keys != 1 {
		t.Fatalf("erasure %+v, %v; want 1 key and the sink's 1 event", er, err)
	}
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs := sink.Events()
	if last := evs[len(evs)-1]; last.Action != audit.ActionOwnerErased || last.Subject != "erin" || last.Outcome != audit.OutcomeAllowed {
		t.Errorf("last event %+v; want the erasure", last)
	}
}
