package wicket_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/ratelimit"
)

// auditEnv is a gateway whose keys.Manager audits into sink.
func auditEnv(t *testing.T, sink audit.Sink, opts *audit.Options, tweak func(*wicket.Config)) (*wicket.Gateway, *keys.Manager, *audit.Auditor) {
	t.Helper()
	a, err := audit.New(sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), h, &keys.Options{Auditor: a})
	if err != nil {
		t.Fatal(err)
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wicket.Config{Keys: km, Router: router}
	if tweak != nil {
		tweak(&cfg)
	}
	gw, err := wicket.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw, km, a
}

// TestAuditTrail: the audit sink sees exactly one event per key lifecycle
// action, per admin call, per failed authentication, per address the
// throttle blocks, per budget or rate-limit refusal and per erasure, with
// hints and identifiers only.
func TestAuditTrail(t *testing.T) {
	sink := &audit.MemorySink{}
	throttle, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{MaxFailures: 3, Window: time.Minute, Cooldown: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	gw, km, a := auditEnv(t, sink, &audit.Options{MaxWait: time.Millisecond}, func(c *wicket.Config) {
		c.AuthThrottle = throttle
		c.Limits = ratelimit.Limits{RequestsPerMinute: 2}
	})
	ctx := t.Context()
	admin := gw.Admin(nil)
	call := func(h http.Handler, method, path, key, body, ip string) int {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		r.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	adminKey, adminRec, err := km.Issue(ctx, keys.Spec{Owner: "ops", Role: keys.RoleAdmin}) // key.issued
	if err != nil {
		t.Fatal(err)
	}
	userKey, userRec, err := km.Issue(ctx, keys.Spec{Owner: "dana", Budget: keys.Budget{LimitMicros: 1, Period: keys.PeriodTotal}}) // key.issued
	if err != nil {
		t.Fatal(err)
	}
	// Through the admin API: rotate (admin.request + key.rotated), a
	// refused call by a user key (admin.request refused), revoke.
	if st := call(admin, "POST", "/keys/"+userRec.ID+"/rotate", adminKey, `{"grace_seconds":60}`, "10.0.0.1"); st != 201 {
		t.Fatalf("rotate: %d", st)
	}
	if st := call(admin, "DELETE", "/keys/"+adminRec.ID, userKey, "", "10.0.0.2"); st != 403 {
		t.Fatalf("a user deleting a key: %d; want 403", st)
	}
	// Model calls: budget refusal, then the rate limit.
	body := `{"model":"fake-echo","messages":[{"role":"user","content":"hello"}]}`
	if st := call(gw, "POST", "/v1/chat/completions", userKey, body, "10.0.0.3"); st != 429 {
		t.Fatalf("budget: %d; want 429", st)
	}
	for i, want := range []int{200, 200, 429} { // a budget refusal costs no quota: spend the admin key's
		if st := call(gw, "POST", "/v1/chat/completions", adminKey, body, "10.0.0.4"); st != want {
			t.Fatalf("rate limit, call %d: %d; want %d", i, st, want)
		}
	}
	// Failed authentications: missing, malformed, unknown (three from one
	// address block it).
	unknown := km.Format().Prefix() + "_" + strings.Repeat("A", len(userKey)-len(km.Format().Prefix())-1)
	wellFormedUnknown, _, err := km.Issue(ctx, keys.Spec{Owner: "gone"}) // key.issued, then deleted: key.deleted
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := km.List(ctx, keys.ListQuery{Owner: "gone"})
	if err := km.Delete(ctx, recs[0].ID); err != nil {
		t.Fatal(err)
	}
	call(gw, "POST", "/v1/chat/completions", "", body, "10.0.0.9")
	call(gw, "POST", "/v1/chat/completions", unknown, body, "10.0.0.9")
	call(gw, "POST", "/v1/chat/completions", wellFormedUnknown, body, "10.0.0.9")
	call(gw, "POST", "/v1/chat/completions", wellFormedUnknown, body, "10.0.0.9") // the third failure that counts blocks
	if _, err := km.Revoke(ctx, adminRec.ID); err != nil {                        // key.revoked (no actor: the application)
		t.Fatal(err)
	}
	if _, err := gw.EraseOwner(ctx, "dana"); err != nil { // owner.erased, key.deleted ×2 (the key and its successor)
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sink.Events() {
		got = append(got, string(e.Action)+" "+string(e.Outcome)+" "+string(e.Reason))
		for _, k := range []string{adminKey, userKey, unknown, wellFormedUnknown} {
			if strings.Contains(e.ActorKeyHint, k) || strings.Contains(e.Subject, k) || strings.Contains(e.ActorKeyID, k) {
				t.Errorf("event %+v holds a key", e)
			}
		}
	}
	want := []string{
		"key.issued allowed ", "key.issued allowed ",
		"key.rotated allowed ", "admin.request allowed ",
		"admin.request refused forbidden",
		"budget.exhausted refused key_budget",
		"ratelimit.exceeded refused requests",
		"key.issued allowed ", "key.deleted allowed ",
		"auth.failed refused missing_key",
		"auth.failed refused malformed_key",
		"auth.failed refused unknown_key",
		"auth.failed refused unknown_key", "ip.blocked refused too_many_failures",
		"key.revoked allowed ",
		"key.deleted allowed ", "key.deleted allowed ", "owner.erased allowed ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	evs := sink.Events()
	rot := evs[2]
	if rot.ActorKeyID != adminRec.ID || rot.Subject != userRec.ID || rot.ReplacedBy == "" || rot.Owner != "dana" {
		t.Errorf("rotation event %+v; want the admin as actor, the key as subject, its successor", rot)
	}
	if adm := evs[3]; adm.Operation != "POST /keys/{id}/rotate" || adm.ActorKeyID != adminRec.ID || adm.ClientIP.String() != "10.0.0.1" {
		t.Errorf("admin event %+v", adm)
	}
	if af := evs[11]; af.ActorKeyHint == "" || af.ClientIP.String() != "10.0.0.9" || af.ActorKeyID != "" {
		t.Errorf("auth failure %+v; want the presented key's hint and the address, no key ID", af)
	}
	if b := evs[5]; b.RequestID == "" || b.ActorKeyID != userRec.ID || b.ClientIP.String() != "10.0.0.3" {
		t.Errorf("budget event %+v; want the request, the key, the address", b)
	}
}

// TestAuditSinkThatBlocks: a sink that never returns adds no latency to
// requests, each of which emits an event (a failed authentication), and
// the events it cannot take are counted as dropped.
func TestAuditSinkThatBlocks(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	sink := audit.SinkFunc(func(ctx context.Context, e audit.Event) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	measure := func(gw *wicket.Gateway) time.Duration {
		var worst time.Duration
		for range 300 {
			r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{}`))
			r.Header.Set("Authorization", "Bearer nope")
			w := httptest.NewRecorder()
			start := time.Now()
			gw.ServeHTTP(w, r)
			if d := time.Since(start); d > worst {
				worst = d
			}
			if w.Code != 401 {
				t.Fatalf("status %d", w.Code)
			}
		}
		return worst
	}
	blocked, _, a := auditEnv(t, sink, &audit.Options{QueueSize: 50, BatchSize: 10}, func(c *wicket.Config) { c.DisableAuthThrottle = true })
	plain, _, _ := auditEnv(t, audit.SinkFunc(func(context.Context, audit.Event) error { return nil }), nil, func(c *wicket.Config) { c.DisableAuthThrottle = true })
	worstBlocked, worstPlain := measure(blocked), measure(plain)
	t.Logf("slowest of 300 refused requests: %v with a blocked sink, %v with a quick one", worstBlocked, worstPlain)
	if worstBlocked > time.Second { // a request that waited on the sink would never return
		t.Errorf("a request took %v with the sink blocked; want no wait on the sink", worstBlocked)
	}
	st := a.Stats()
	if st.Dropped < 300-50-10 || st.Dropped > 300-50 {
		t.Errorf("dropped %d of 300 with a queue of 50 and a batch of 10 stuck; want 240 to 250", st.Dropped)
	}
}
