package wicket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/ratelimit"
)

func withLimits(clk *meteringtest.Clock, l ratelimit.Limits) func(*wicket.Config) {
	return func(c *wicket.Config) {
		lim, err := ratelimit.New(&ratelimit.Options{Now: clk.Now})
		if err != nil {
			panic(err)
		}
		c.Limiter, c.Limits, c.Now = lim, l, clk.Now
	}
}

func chat(model string) string {
	return `{"model":"` + model + `","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
}

type oaiErr struct {
	Error struct {
		Type string  `json:"type"`
		Code *string `json:"code"`
	} `json:"error"`
}

func decodeErr(t *testing.T, body string) oaiErr {
	t.Helper()
	var e oaiErr
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == nil {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	return e
}

func TestRequestsPerMinute(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), withLimits(clk, ratelimit.Limits{RequestsPerMinute: 3}))
	// Header spelling variants are one key, so one bucket.
	for i, h := range []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key"} {
		v := e.key
		if h == "Authorization" {
			v = "Bearer " + v
		}
		resp := e.do(t, "POST", "/v1/chat/completions", chat("m"), map[string]string{h: v})
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d via %s: %d", i, h, resp.StatusCode)
		}
		if got, want := resp.Header.Get("X-Ratelimit-Remaining-Requests"), fmt.Sprint(2-i); got != want {
			t.Errorf("request %d: remaining %q; want %q", i, got, want)
		}
		if resp.Header.Get("X-Ratelimit-Limit-Requests") != "3" {
			t.Errorf("limit header %q", resp.Header.Get("X-Ratelimit-Limit-Requests"))
		}
	}
	resp := e.post(t, "/v1/chat/completions", chat("m"))
	body := readAll(t, resp)
	if resp.StatusCode != 429 {
		t.Fatalf("4th request: %d; want 429", resp.StatusCode)
	}
	if oe := decodeErr(t, body); *oe.Error.Code != "rate_limit_exceeded" || oe.Error.Type != "requests" {
		t.Errorf("error %+v", oe)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "20" {
		t.Errorf("retry-after %q; want 20 (one request refills in 60s/3)", ra)
	}
	if n := len(up.requests()); n != 3 {
		t.Errorf("upstream calls %d; want 3", n)
	}
	clk.Advance(20 * time.Second)
	resp = e.post(t, "/v1/chat/completions", chat("m"))
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Errorf("after refill: %d; want 200", resp.StatusCode)
	}
	// A key's own limit overrides the default.
	key2, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "bob", Limits: keys.Limits{RequestsPerMinute: 1}})
	for i, want := range []int{200, 429} {
		resp := e.do(t, "POST", "/v1/chat/completions", chat("m"), map[string]string{"Authorization": "Bearer " + key2})
		readAll(t, resp)
		if resp.StatusCode != want {
			t.Errorf("key override, request %d: %d; want %d", i, resp.StatusCode, want)
		}
	}
}

func TestTokensPerMinuteAndNoQuotaOnRefusal(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	up := newUpstream(t, okUpstream) // usage: 17 tokens
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), withLimits(clk, ratelimit.Limits{RequestsPerMinute: 100, TokensPerMinute: 1000}))
	// Too large for the bucket at all: 429 tokens, x-should-retry false.
	big := `{"model":"m","max_tokens":5000,"messages":[]}`
	resp := e.post(t, "/v1/chat/completions", big)
	body := readAll(t, resp)
	if resp.StatusCode != 429 || decodeErr(t, body).Error.Type != "tokens" || resp.Header.Get("X-Should-Retry") != "false" {
		t.Fatalf("oversized: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// The refused request cost no request quota.
	resp = e.post(t, "/v1/chat/completions", chat("m"))
	readAll(t, resp)
	if got := resp.Header.Get("X-Ratelimit-Remaining-Requests"); got != "99" {
		t.Errorf("remaining requests after a token refusal and one success: %q; want 99", got)
	}
	// The success was settled to its exact usage (17), not the estimate.
	resp = e.post(t, "/v1/chat/completions", `{"model":"m","max_tokens":900,"messages":[]}`)
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("a 900-token estimate after settling: %d; want 200 (bucket 1000-17)", resp.StatusCode)
	}
	if len(up.requests()) != 2 {
		t.Errorf("upstream calls %d; want 2", len(up.requests()))
	}
}

func TestConcurrencySlotsReturnedOnEveryPath(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case strings.Contains(string(body), `"fail"`):
			errorUpstream(400, `{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}`)(w, r, body)
		case strings.Contains(string(body), `"stream"`):
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: "+streamChunks[0]+"\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			arrived <- struct{}{}
			<-release
			okUpstream(w, r, body)
		}
	})
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), withLimits(clk, ratelimit.Limits{MaxConcurrent: 2}))
	// Two held requests fill the slots; a third is refused at once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { readAll(t, e.post(t, "/v1/chat/completions", chat("m"))) })
	}
	<-arrived
	<-arrived
	resp := e.post(t, "/v1/chat/completions", chat("m"))
	body := readAll(t, resp)
	if resp.StatusCode != 429 || !strings.Contains(body, "concurrent") {
		t.Fatalf("third concurrent: %d %s; want 429", resp.StatusCode, body)
	}
	close(release)
	wg.Wait()

	// An upstream error returns the slot.
	for range 3 {
		readAll(t, e.post(t, "/v1/chat/completions", `{"model":"m","messages":[],"x":"fail"}`))
	}
	// Every request so far has ended (2 held, 1 refused, 3 failed), so
	// the next outcomes are the disconnects'.
	for range 6 {
		<-e.outcome
	}
	// A client disconnect returns the slot.
	for range 3 {
		resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true}`)
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
		<-e.outcome
	}
	// A panic returns the slot.
	e2 := newEnv(t, single("m", panicProvider{}, ""), withLimits(clk, ratelimit.Limits{MaxConcurrent: 1}))
	for range 3 {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chat("m")))
		r.Header.Set("Authorization", "Bearer "+e2.key)
		e2.gw.ServeHTTP(w, r)
		if w.Code != 500 {
			t.Fatalf("panicking provider: %d; want 500 from the guard", w.Code)
		}
	}
	// Both gateways still admit: no slot leaked.
	drain(e.outcome)
	resp = e.post(t, "/v1/chat/completions", `{"model":"m","messages":[],"x":"fail"}`)
	readAll(t, resp)
	if resp.StatusCode != 400 {
		t.Errorf("after errors and disconnects: %d; want the upstream's 400 (admitted)", resp.StatusCode)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chat("m")))
	r.Header.Set("Authorization", "Bearer "+e2.key)
	e2.gw.ServeHTTP(w, r)
	if w.Code != 500 {
		t.Errorf("after panics: %d; want 500 (admitted, then the panic)", w.Code)
	}
}

func drain(c chan metering.Event) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestFailedAuthThrottle(t *testing.T) {
	clk := meteringtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingStore{MemoryStore: keys.NewMemoryStore()}
	h, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: []byte(strings.Repeat("s", 32))})
	km, _ := keys.NewManager(store, h, &keys.Options{Now: clk.Now, CacheTTL: time.Hour})
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("m", up.provider(t, "openai"), ""), func(c *wicket.Config) {
		c.Keys, c.Now = km, clk.Now
		c.AuthThrottle, _ = ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{MaxFailures: 5, Window: time.Minute, Cooldown: 10 * time.Minute})
	})
	good, _, _ := km.Issue(t.Context(), keys.Spec{Owner: "alice"})
	colleague, _, _ := km.Issue(t.Context(), keys.Spec{Owner: "bob"})
	admin := e.gw.Admin(nil)
	send := func(h http.Handler, method, path, ip, key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(chat("m")))
		r.RemoteAddr = ip + ":5555"
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	attack := func(ip string, key string) int { return send(e.gw, "POST", "/v1/chat/completions", ip, key).Code }
	statuses := map[int]int{}
	for range 1000 {
		k, _ := km.Format().Generate(nil) // well formed, unknown: each would need a lookup
		statuses[attack("198.51.100.7", k)]++
	}
	if n := store.lookups.Load(); n > 5 {
		t.Errorf("store lookups for 1000 bad keys from one IP: %d; want at most 5", n)
	}
	if statuses[401] != 5 || statuses[429] != 995 {
		t.Errorf("statuses %v; want 5×401 then 995×429", statuses)
	}
	if code := attack("203.0.113.9", good); code != 200 {
		t.Errorf("another IP with a good key: %d; want 200", code)
	}
	// Behind the same address (a NAT), a key this process has verified
	// keeps working; a key it has not seen is refused without a lookup.
	before := store.lookups.Load()
	if code := attack("198.51.100.7", good); code != 200 {
		t.Errorf("the blocked IP with a verified, cached key: %d; want 200", code)
	}
	w := send(e.gw, "POST", "/v1/chat/completions", "198.51.100.7", colleague)
	if w.Code != 429 || w.Header().Get("Retry-After") != "600" || !strings.Contains(w.Body.String(), "too_many_failed_authentications") {
		t.Errorf("the blocked IP with a key not yet verified here: %d %q %s; want 429 retry-after 600", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if n := store.lookups.Load(); n != before {
		t.Errorf("store lookups while blocked: %d; want none", n-before)
	}
	// The admin API shares the throttle: blocked there too, and failures
	// there count.
	if w := send(admin, "GET", "/keys", "198.51.100.7", colleague); w.Code != 429 {
		t.Errorf("admin API from the blocked IP: %d; want 429", w.Code)
	}
	for range 5 {
		k, _ := km.Format().Generate(nil)
		send(admin, "GET", "/keys", "192.0.2.44", k)
	}
	if w := send(admin, "GET", "/keys", "192.0.2.44", colleague); w.Code != 429 {
		t.Errorf("admin API after 5 failures from one IP: %d; want 429", w.Code)
	}
	clk.Advance(10 * time.Minute)
	if code := attack("198.51.100.7", colleague); code != 200 {
		t.Errorf("after the cool-down: %d; want 200", code)
	}
}

// countingStore counts digest lookups.
type countingStore struct {
	*keys.MemoryStore
	lookups atomic.Int64
}

func (s *countingStore) Lookup(ctx context.Context, d keys.Digest) (*keys.Record, error) {
	s.lookups.Add(1)
	return s.MemoryStore.Lookup(ctx, d)
}

// Limits out of range fail in New, naming the field; a key whose own
// limits are out of range is answered as a misconfiguration, not overload.
func TestInvalidLimits(t *testing.T) {
	h, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: []byte(strings.Repeat("s", 32))})
	km, _ := keys.NewManager(keys.NewMemoryStore(), h, nil)
	router, _ := providers.NewRouter(nil, nil)
	for _, tc := range []struct {
		l     ratelimit.Limits
		field string
	}{
		{ratelimit.Limits{TokensPerMinute: 1e12}, "TokensPerMinute"},
		{ratelimit.Limits{RequestsPerMinute: -1}, "RequestsPerMinute"},
		{ratelimit.Limits{MaxConcurrent: -2}, "MaxConcurrent"},
	} {
		_, err := wicket.New(wicket.Config{Keys: km, Router: router, Limits: tc.l})
		if err == nil || !strings.Contains(err.Error(), "Config.Limits") || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New with %+v: %v; want an error naming Config.Limits and %s", tc.l, err, tc.field)
		}
	}
	e := newEnv(t, single("m", newUpstream(t, okUpstream).provider(t, "p"), ""), nil)
	key, _, _ := e.km.Issue(t.Context(), keys.Spec{Owner: "o", Limits: keys.Limits{TokensPerMinute: 1e12}})
	resp := e.do(t, "POST", "/v1/chat/completions", chat("m"), map[string]string{"Authorization": "Bearer " + key})
	body := readAll(t, resp)
	if resp.StatusCode != 500 || !strings.Contains(body, "misconfigured") || strings.Contains(body, "overloaded") {
		t.Errorf("a key with out-of-range limits: %d %s; want 500 misconfigured", resp.StatusCode, body)
	}
}
