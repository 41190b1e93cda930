package wicket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/abuse"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

// abuseEnv is a gateway with abuse signals on, over real HTTP, in front of
// an OpenAI-style upstream that reports tokens tokens per call. Clients
// name their address in X-Forwarded-For (loopback is a trusted proxy);
// the gateway and the key store share a test clock.
type abuseEnv struct {
	gw     *wicket.Gateway
	srv    *httptest.Server
	km     *keys.Manager
	aud    *audit.Auditor
	sink   *audit.MemorySink
	clock  *testClock
	tokens atomic.Int64

	mu      sync.Mutex
	signals []abuse.Signal
	calls   int // requests made, as of each signal: see sent
	sent    []int
}

func newAbuseEnv(t *testing.T, cfg wicket.AbuseConfig) *abuseEnv {
	t.Helper()
	e := &abuseEnv{sink: &audit.MemorySink{}, clock: &testClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}}
	e.tokens.Store(20)
	var err error
	if e.aud, err = audit.New(e.sink, &audit.Options{MaxWait: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.aud.Close(context.Background()) })
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if e.km, err = keys.NewManager(keys.NewMemoryStore(), h, &keys.Options{Auditor: e.aud, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		n := e.tokens.Load()
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m-up","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, n/2, n-n/2, n)
	})
	router, err := providers.NewRouter([]providers.Model{
		{Name: "m", Deployments: []providers.Deployment{{Provider: up.provider(t, "up"), Model: "m-up"}}},
		{Name: "other", Deployments: []providers.Deployment{{Provider: up.provider(t, "up2"), Model: "m-up"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := cfg.Detector.OnSignal
	cfg.Detector.OnSignal = func(s abuse.Signal) {
		e.mu.Lock()
		e.signals = append(e.signals, s)
		e.sent = append(e.sent, e.calls)
		e.mu.Unlock()
		if app != nil {
			app(s)
		}
	}
	e.gw, err = wicket.New(wicket.Config{Keys: e.km, Router: router, Now: e.clock.Now, Abuse: &cfg,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.gw)
	t.Cleanup(e.srv.Close)
	return e
}

// call makes a chat call for model with key from client address ip and
// returns the status and the error code, if any.
func (e *abuseEnv) call(t *testing.T, key, model, ip string) (int, string) {
	t.Helper()
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	return resp.StatusCode, body.Error.Code
}

func (e *abuseEnv) issue(t *testing.T, spec keys.Spec) (string, *keys.Record) {
	t.Helper()
	key, rec, err := e.km.Issue(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return key, rec
}

// got returns the signals so far, and the requests made when each came.
func (e *abuseEnv) got() ([]abuse.Signal, []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]abuse.Signal(nil), e.signals...), append([]int(nil), e.sent...)
}

// events flushes the auditor and returns the events of the given actions.
func (e *abuseEnv) events(t *testing.T, actions ...audit.Action) []audit.Event {
	t.Helper()
	if err := e.aud.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range e.sink.Events() {
		for _, a := range actions {
			if ev.Action == a {
				ev.Time = time.Time{}
				out = append(out, ev)
			}
		}
	}
	return out
}

// steady makes perMinute calls a minute for minutes minutes, each
// expected to succeed.
func (e *abuseEnv) steady(t *testing.T, key string, perMinute, minutes int) {
	t.Helper()
	step := time.Minute / time.Duration(perMinute)
	for m := range minutes {
		for i := range perMinute {
			if st, code := e.call(t, key, "m", "198.51.100.7"); st != 200 {
				t.Fatalf("steady traffic, minute %d call %d: %d %s", m, i, st, code)
			}
			e.clock.Advance(step)
		}
	}
}

// A key steady at 10 requests a minute that jumps to 500 is flagged within
// the minute of the jump and not before; the policy suspends it, so the
// very next request is refused with 403 api_key_suspended; after the
// cool-off it works again.
func TestAbuseRateJumpSuspendsTheKey(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{
		abuse.RateJump: {Suspend: true, For: 15 * time.Minute},
	}})
	key, rec := e.issue(t, keys.Spec{Owner: "alice"})
	e.steady(t, key, 10, 30)
	if sigs, _ := e.got(); len(sigs) != 0 {
		t.Fatalf("steady traffic raised %+v", sigs)
	}
	e.mu.Lock()
	jumpStart := e.calls
	e.mu.Unlock()
	refusedAt := -1
	for i := range 500 { // 500 a minute
		st, code := e.call(t, key, "m", "198.51.100.7")
		if st != 200 {
			if st != 403 || code != "api_key_suspended" {
				t.Fatalf("call %d of the jump: %d %s; want 200, then 403 api_key_suspended", i, st, code)
			}
			refusedAt = jumpStart + i + 1
			break
		}
		e.clock.Advance(time.Minute / 500)
	}
	sigs, sent := e.got()
	if len(sigs) != 1 || sigs[0].Kind != abuse.RateJump || sigs[0].KeyID != rec.ID {
		t.Fatalf("signals: %+v; want one rate_jump for %s", sigs, rec.ID)
	}
	if refusedAt != sent[0]+1 {
		t.Errorf("the signal came at call %d, the first refusal at call %d; want the very next call refused", sent[0], refusedAt)
	}
	t.Logf("flagged after %d calls of the jump (%.1f s), value %.0f/min against a baseline of %.1f/min",
		sent[0]-jumpStart, float64(sent[0]-jumpStart)*60/500, sigs[0].Value, sigs[0].Baseline)
	got, err := e.km.Get(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Suspension.Reason != "rate_jump" || !got.Suspension.Until.Equal(got.Suspension.At.Add(15*time.Minute)) {
		t.Errorf("stored suspension %+v; want rate_jump for 15 minutes", got.Suspension)
	}
	// Still refused just before the cool-off ends, served after it.
	e.clock.Advance(15*time.Minute - time.Second)
	if st, code := e.call(t, key, "m", "198.51.100.7"); st != 403 {
		t.Errorf("a second before the cool-off ends: %d %s; want 403", st, code)
	}
	e.clock.Advance(time.Second)
	if st, code := e.call(t, key, "m", "198.51.100.7"); st != 200 {
		t.Errorf("after the cool-off: %d %s; want 200", st, code)
	}
	evs := e.events(t, audit.ActionAbuseSignal, audit.ActionKeySuspended)
	want := []audit.Event{
		{Action: audit.ActionAbuseSignal, Outcome: audit.OutcomeAllowed, Reason: audit.ReasonRateJump, Subject: rec.ID},
		{Action: audit.ActionKeySuspended, Outcome: audit.OutcomeAllowed, Reason: audit.ReasonRateJump, Subject: rec.ID, Owner: "alice"},
	}
	if len(evs) != 2 || evs[0] != want[0] || evs[1] != want[1] {
		t.Errorf("audit events:\n got %+v\nwant %+v", evs, want)
	}
}

// A policy that caps limits gives the key 5 requests a minute for its
// cool-off, then its own limits back.
func TestAbuseRateJumpCapsLimits(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{
		Detector: abuse.Options{WarmupMinutes: 3, MinRate: 20},
		Policy: map[abuse.Kind]wicket.AbuseAction{
			abuse.RateJump: {Limits: ratelimit.Limits{RequestsPerMinute: 5}, For: 10 * time.Minute},
		},
	})
	key, rec := e.issue(t, keys.Spec{Owner: "bob"})
	e.steady(t, key, 2, 5)
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("no signal after 200 calls in a minute")
		}
		if st, code := e.call(t, key, "m", "198.51.100.7"); st != 200 {
			t.Fatalf("call %d of the jump: %d %s", i, st, code)
		}
		if sigs, _ := e.got(); len(sigs) > 0 {
			break
		}
	}
	// The cap applies from the call that raised the signal (the detector
	// hears of a call before its limits are applied), and the limiter
	// counts in real time: four more calls pass, the fifth is refused.
	for i := range 5 {
		st, code := e.call(t, key, "m", "198.51.100.7")
		if want := 200; i == 4 {
			if st != 429 || code != "rate_limit_exceeded" {
				t.Errorf("fifth call under the cap: %d %s; want 429 rate_limit_exceeded", st, code)
			}
		} else if st != want {
			t.Fatalf("call %d under the cap: %d %s; want 200", i, st, code)
		}
	}
	e.clock.Advance(10 * time.Minute)
	for i := range 10 {
		if st, code := e.call(t, key, "m", "198.51.100.7"); st != 200 {
			t.Fatalf("call %d after the cool-off: %d %s; want 200", i, st, code)
		}
	}
	evs := e.events(t, audit.ActionKeyThrottled, audit.ActionKeySuspended)
	if want := (audit.Event{Action: audit.ActionKeyThrottled, Outcome: audit.OutcomeAllowed, Reason: audit.ReasonRateJump, Subject: rec.ID}); len(evs) != 1 || evs[0] != want {
		t.Errorf("audit events: %+v; want one %+v", evs, want)
	}
}

// Refusals by the key's IP allowlist (in key verification) and by its
// model scopes (in Authorize) count toward a refusal burst; the policy
// suspends the key until lifted, which the admin API lists and lifts.
func TestAbuseRefusalBurstSuspendsUntilLifted(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{
		Detector: abuse.Options{BurstThreshold: 5},
		Policy:   map[abuse.Kind]wicket.AbuseAction{abuse.RefusalBurst: {Suspend: true}},
	})
	key, rec := e.issue(t, keys.Spec{Owner: "carol", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Scopes: keys.Scopes{Models: []string{"m"}}})
	adminKey, _ := e.issue(t, keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	if st, code := e.call(t, key, "m", "10.1.2.3"); st != 200 {
		t.Fatalf("allowed call: %d %s", st, code)
	}
	for i := range 3 {
		if st, code := e.call(t, key, "m", "192.0.2.1"); st != 403 || code != "permission_denied" {
			t.Fatalf("call %d from outside the allowlist: %d %s; want 403 permission_denied", i, st, code)
		}
	}
	for i := range 3 {
		if st, code := e.call(t, key, "other", "10.1.2.3"); st != 403 || code != "model_not_allowed" {
			t.Fatalf("call %d for a model out of scope: %d %s; want 403 model_not_allowed", i, st, code)
		}
	}
	sigs, sent := e.got()
	if len(sigs) != 1 || sigs[0].Kind != abuse.RefusalBurst || sigs[0].KeyID != rec.ID || sent[0] != 7 {
		t.Fatalf("signals %+v at calls %v; want one refusal_burst for %s at call 7 (the sixth refusal)", sigs, sent, rec.ID)
	}
	if st, code := e.call(t, key, "m", "10.1.2.3"); st != 403 || code != "api_key_suspended" {
		t.Fatalf("after the burst: %d %s; want 403 api_key_suspended", st, code)
	}
	// The admin API lists the key as suspended and lifts the suspension.
	admin := httptest.NewServer(e.gw.Admin(nil))
	defer admin.Close()
	adminCall := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, admin.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := admin.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if st, body := adminCall("GET", "/keys?suspended=true"); st != 200 || !strings.Contains(body, rec.ID) || !strings.Contains(body, `"reason":"refusal_burst"`) {
		t.Errorf("suspended list: %d %s", st, body)
	}
	e.clock.Advance(24 * time.Hour) // no cool-off: it holds until lifted
	if st, _ := e.call(t, key, "m", "10.1.2.3"); st != 403 {
		t.Errorf("a day later: %d; want 403", st)
	}
	if st, body := adminCall("POST", "/keys/"+rec.ID+"/unsuspend"); st != 200 {
		t.Fatalf("unsuspend: %d %s", st, body)
	}
	if st, code := e.call(t, key, "m", "10.1.2.3"); st != 200 {
		t.Errorf("after the suspension was lifted: %d %s; want 200", st, code)
	}
	if st, body := adminCall("GET", "/keys?suspended=true"); st != 200 || strings.Contains(body, rec.ID) {
		t.Errorf("suspended list after lifting: %d %s", st, body)
	}
	evs := e.events(t, audit.ActionAbuseSignal, audit.ActionKeySuspended, audit.ActionKeyUnsuspended)
	var got []audit.Action
	for _, ev := range evs {
		if ev.Subject != rec.ID {
			t.Errorf("event %+v names another subject", ev)
		}
		got = append(got, ev.Action)
	}
	if want := []audit.Action{audit.ActionAbuseSignal, audit.ActionKeySuspended, audit.ActionKeyUnsuspended}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit actions %v; want %v", got, want)
	}
}

// A key used from 20 distinct /24 networks within 10 minutes is flagged;
// many addresses of one network are not. Without a policy the key keeps
// working.
func TestAbuseNetworkSpread(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{})
	key, rec := e.issue(t, keys.Spec{Owner: "dave"})
	for i := range 40 {
		if st, _ := e.call(t, key, "m", fmt.Sprintf("203.0.113.%d", i+1)); st != 200 {
			t.Fatalf("call %d: %d", i, st)
		}
	}
	if sigs, _ := e.got(); len(sigs) != 0 {
		t.Fatalf("one /24 raised %+v", sigs)
	}
	for i := range 20 {
		if st, _ := e.call(t, key, "m", fmt.Sprintf("10.%d.7.1", i)); st != 200 {
			t.Fatalf("network %d: %d; want 200 (no policy)", i, st)
		}
		e.clock.Advance(25 * time.Second) // 20 networks in under 10 minutes
	}
	sigs, _ := e.got()
	if len(sigs) != 1 || sigs[0].Kind != abuse.NetworkSpread || sigs[0].KeyID != rec.ID {
		t.Fatalf("signals %+v; want one network_spread for %s", sigs, rec.ID)
	}
	if st := e.gw.AbuseStats(); st.Signals[abuse.NetworkSpread] != 1 || st.Keys != 1 {
		t.Errorf("AbuseStats %+v; want 1 key, 1 network_spread signal", st)
	}
}

// The tokens each call used reach the detector: a key steady at about 20
// tokens a call that suddenly uses 200,000 is flagged.
func TestAbuseTokenJump(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{Detector: abuse.Options{WarmupMinutes: 3, MinTokens: 1000}})
	key, rec := e.issue(t, keys.Spec{Owner: "erin"})
	e.steady(t, key, 5, 6)
	if sigs, _ := e.got(); len(sigs) != 0 {
		t.Fatalf("steady tokens raised %+v", sigs)
	}
	e.tokens.Store(200_000)
	if st, code := e.call(t, key, "m", "198.51.100.7"); st != 200 {
		t.Fatalf("big call: %d %s", st, code)
	}
	sigs, _ := e.got()
	if len(sigs) != 1 || sigs[0].Kind != abuse.TokenJump || sigs[0].KeyID != rec.ID {
		t.Fatalf("signals %+v; want one token_jump for %s", sigs, rec.ID)
	}
}

func TestAbuseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   wicket.AbuseConfig
		field string
	}{
		{"both", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.RateJump: {Suspend: true, Limits: ratelimit.Limits{RequestsPerMinute: 1}}}}, "Policy[rate_jump]"},
		{"neither", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.TokenJump: {For: time.Minute}}}, "Policy[token_jump]"},
		{"cap without For", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.RateJump: {Limits: ratelimit.Limits{RequestsPerMinute: 1}}}}, "Policy[rate_jump].For"},
		{"negative For", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.RefusalBurst: {Suspend: true, For: -1}}}, "Policy[refusal_burst].For"},
		{"bad limits", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.RateJump: {Limits: ratelimit.Limits{RequestsPerMinute: -1}, For: time.Minute}}}, "Policy[rate_jump].Limits"},
		{"bad kind", wicket.AbuseConfig{Policy: map[abuse.Kind]wicket.AbuseAction{abuse.Kind(9): {Suspend: true}}}, "Policy[kind(9)]"},
		{"bad detector", wicket.AbuseConfig{Detector: abuse.Options{Alpha: 2}}, "Detector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			km, err := keys.NewManager(keys.NewMemoryStore(), mustHasher(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			router, err := providers.NewRouter(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = wicket.New(wicket.Config{Keys: km, Router: router, Abuse: &tc.cfg})
			if err == nil || !strings.Contains(err.Error(), "Config.Abuse."+tc.field) {
				t.Errorf("got %v; want an error naming Config.Abuse.%s", err, tc.field)
			}
		})
	}
}

func mustHasher(t testing.TB) *keys.Hasher {
	t.Helper()
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A panic in the application's OnSignal is contained: the request that
// raised the signal is answered, and the policy has acted before the
// callback ran.
func TestAbuseOnSignalPanicIsContained(t *testing.T) {
	e := newAbuseEnv(t, wicket.AbuseConfig{
		Detector: abuse.Options{BurstThreshold: 1, OnSignal: func(abuse.Signal) { panic("application bug") }},
		Policy:   map[abuse.Kind]wicket.AbuseAction{abuse.RefusalBurst: {Suspend: true}},
	})
	key, _ := e.issue(t, keys.Spec{Owner: "fay", Scopes: keys.Scopes{Models: []string{"m"}}})
	for i := range 2 {
		if st, code := e.call(t, key, "other", "10.1.2.3"); st != 403 || code != "model_not_allowed" {
			t.Fatalf("refusal %d: %d %s; want 403 model_not_allowed", i, st, code)
		}
	}
	if sigs, _ := e.got(); len(sigs) != 1 {
		t.Fatalf("signals %+v; want one", sigs)
	}
	if st, code := e.call(t, key, "m", "10.1.2.3"); st != 403 || code != "api_key_suspended" {
		t.Errorf("after the signal: %d %s; want 403 api_key_suspended", st, code)
	}
}
