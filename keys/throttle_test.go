package keys_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/keys"
)

func TestMiddlewareThrottle(t *testing.T) {
	var (
		blockedIP = netip.MustParseAddr("198.51.100.7") // shared by many clients behind a NAT
		freeIP    = netip.MustParseAddr("203.0.113.9")
	)
	type setup struct {
		fx                                *fixture
		cached, uncached, scoped, ipBound string // keys
		revoked, revokedCached            string
		expiredCached                     string
	}
	for _, tc := range []struct {
		name   string
		ip     netip.Addr
		key    func(s *setup) string // "" sends no key
		path   string
		status int
		code   string
		fails  int
	}{
		{"blocked, cached key served", blockedIP, func(s *setup) string { return s.cached }, "/v1/chat/completions", 200, "", 0},
		{"blocked, cached key, endpoint not allowed", blockedIP, func(s *setup) string { return s.scoped }, "/v1/embeddings", 403, "permission_denied", 0},
		{"blocked, cached key, IP not allowed", blockedIP, func(s *setup) string { return s.ipBound }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, valid key not cached", blockedIP, func(s *setup) string { return s.uncached }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, just revoked key", blockedIP, func(s *setup) string { return s.revoked }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, revoked key cached as revoked", blockedIP, func(s *setup) string { return s.revokedCached }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, expired cached key", blockedIP, func(s *setup) string { return s.expiredCached }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, unknown key", blockedIP, func(s *setup) string { k, _ := s.fx.m.Format().Generate(nil); return k }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, malformed key", blockedIP, func(*setup) string { return "wk_nope" }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"blocked, missing key", blockedIP, func(*setup) string { return "" }, "/v1/chat/completions", 429, "too_many_failed_authentications", 0},
		{"free, valid key", freeIP, func(s *setup) string { return s.uncached }, "/v1/chat/completions", 200, "", 0},
		{"free, cached key", freeIP, func(s *setup) string { return s.cached }, "/v1/chat/completions", 200, "", 0},
		{"free, malformed key counts", freeIP, func(*setup) string { return "wk_nope" }, "/v1/chat/completions", 401, "invalid_api_key", 1},
		{"free, unknown key counts", freeIP, func(s *setup) string { k, _ := s.fx.m.Format().Generate(nil); return k }, "/v1/chat/completions", 401, "invalid_api_key", 1},
		{"free, revoked key counts", freeIP, func(s *setup) string { return s.revoked }, "/v1/chat/completions", 401, "api_key_revoked", 1},
		{"free, missing key does not count", freeIP, func(*setup) string { return "" }, "/v1/chat/completions", 401, "invalid_api_key", 0},
		{"free, endpoint not allowed does not count", freeIP, func(s *setup) string { return s.scoped }, "/v1/embeddings", 403, "permission_denied", 0},
		{"free, IP not allowed does not count", freeIP, func(s *setup) string { return s.ipBound }, "/v1/chat/completions", 403, "permission_denied", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, nil)
			s := &setup{fx: fx}
			var revokedRec, revokedCachedRec *keys.Record
			s.cached, _ = fx.issue(t, keys.Spec{})
			s.uncached, _ = fx.issue(t, keys.Spec{})
			s.scoped, _ = fx.issue(t, keys.Spec{Scopes: keys.Scopes{Endpoints: []string{"/v1/chat/*"}}})
			s.ipBound, _ = fx.issue(t, keys.Spec{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
			s.revoked, revokedRec = fx.issue(t, keys.Spec{})
			s.revokedCached, revokedCachedRec = fx.issue(t, keys.Spec{})
			s.expiredCached, _ = fx.issue(t, keys.Spec{ExpiresAt: fx.clock.Now().Add(time.Second)})
			// Warm the cache the way earlier requests from good clients do.
			for _, k := range []string{s.cached, s.scoped, s.revoked, s.revokedCached, s.expiredCached} {
				if _, err := fx.m.Verify(t.Context(), k, freeIP); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := fx.m.Verify(t.Context(), s.ipBound, netip.MustParseAddr("192.0.2.1")); err != nil {
				t.Fatal(err)
			}
			fx.m.Revoke(t.Context(), revokedRec.ID)
			fx.m.Revoke(t.Context(), revokedCachedRec.ID)
			fx.m.Verify(t.Context(), s.revokedCached, freeIP) // caches the revoked record
			fx.clock.Advance(time.Second)                     // expiredCached expires; the cache is still warm
			th := newFakeThrottle()
			th.block(blockedIP, 89*time.Second+time.Millisecond)
			lookups := fx.store.lookups.Load()

			var served *keys.Record
			h := fx.m.Middleware(&keys.MiddlewareOptions{
				Throttle: th,
				ClientIP: func(*http.Request) netip.Addr { return tc.ip },
			})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served, _ = keys.PrincipalFrom(r.Context())
			}))
			r := httptest.NewRequest("POST", tc.path, nil)
			if k := tc.key(s); k != "" {
				r.Header.Set("Authorization", "Bearer "+k)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != tc.status {
				t.Fatalf("status: got %d; want %d (body %s)", w.Code, tc.status, w.Body)
			}
			if (w.Code == 200) != (served != nil) {
				t.Errorf("status %d but next was called: %v", w.Code, served != nil)
			}
			if tc.status != 200 {
				var e openAIError
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != tc.code {
					t.Errorf("error body: got %s; want code %q", w.Body, tc.code)
				}
			}
			wantRetry := ""
			if tc.status == 429 {
				wantRetry = "90"
			}
			if got := w.Header().Get("Retry-After"); got != wantRetry {
				t.Errorf("Retry-After: got %q; want %q", got, wantRetry)
			}
			if tc.ip == blockedIP {
				if n := fx.store.lookups.Load() - lookups; n != 0 {
					t.Errorf("store lookups for a blocked address: got %d; want 0", n)
				}
			}
			var want []failure
			for range tc.fails {
				want = append(want, failure{tc.ip, fx.clock.Now()})
			}
			if diff := cmp.Diff(want, th.failures(), cmp.AllowUnexported(failure{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Throttle.Fail calls (-want +got):\n%s", diff)
			}
			// A key verified from the cache passes without asking the
			// throttle (which may be a round trip); every other request
			// asks once.
			cachedValid := tc.status != 429 && (tc.name == "blocked, cached key served" || strings.Contains(tc.name, "cached key") || tc.name == "free, endpoint not allowed does not count")
			if cachedValid {
				if len(th.asked) != 0 {
					t.Errorf("Throttle.Blocked asked %d times for a cached, valid key; want 0", len(th.asked))
				}
			} else if got := th.asked; len(got) != 1 || !got[0].Equal(fx.clock.Now()) {
				t.Errorf("Throttle.Blocked times: got %v; want one call at the injected now %v", got, fx.clock.Now())
			}
		})
	}
}

func TestAdminThrottle(t *testing.T) {
	fx := newFixture(t, nil)
	adminKey, _ := fx.issue(t, keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	otherAdmin, _ := fx.issue(t, keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	ip := netip.MustParseAddr("198.51.100.7")
	th := newFakeThrottle()
	h := keys.NewAdmin(fx.m, &keys.AdminOptions{MiddlewareOptions: keys.MiddlewareOptions{
		Throttle: th,
		ClientIP: func(*http.Request) netip.Addr { return ip },
	}})
	call := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/keys", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := call(adminKey); w.Code != 200 { // verified and cached
		t.Fatalf("admin key before the block: got %d; want 200", w.Code)
	}
	if w := call("wk_guess"); w.Code != 401 || len(th.failures()) != 1 {
		t.Fatalf("bad key: got %d and %d failures; want 401 and 1", w.Code, len(th.failures()))
	}
	th.block(ip, time.Minute)
	lookups := fx.store.lookups.Load()
	for _, tc := range []struct {
		name   string
		key    string
		status int
	}{
		{"cached admin key", adminKey, 200},
		{"admin key not cached", otherAdmin, 429},
		{"guess", "wk_guess", 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := call(tc.key)
			if w.Code != tc.status {
				t.Errorf("status: got %d; want %d (body %s)", w.Code, tc.status, w.Body)
			}
			if tc.status == 429 && w.Header().Get("Retry-After") != "60" {
				t.Errorf("Retry-After: got %q; want %q", w.Header().Get("Retry-After"), "60")
			}
		})
	}
	if n := fx.store.lookups.Load() - lookups; n != 0 {
		t.Errorf("store lookups while blocked: got %d; want 0", n)
	}
	if n := len(th.failures()); n != 1 {
		t.Errorf("failures counted while blocked: got %d; want still 1", n)
	}
}

func TestThrottledError(t *testing.T) {
	for _, tc := range []struct {
		retry time.Duration
		want  string
	}{
		{0, "1"},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{10 * time.Minute, "600"},
	} {
		t.Run(fmt.Sprint(tc.retry), func(t *testing.T) {
			var err error = fmt.Errorf("wrapped: %w", &keys.ThrottledError{RetryAfter: tc.retry})
			if !errors.Is(err, keys.ErrThrottled) {
				t.Errorf("errors.Is(err, ErrThrottled): got false; want true")
			}
			te, ok := errors.AsType[*keys.ThrottledError](err)
			if !ok || te.RetryAfter != tc.retry {
				t.Errorf("errors.As: got %v, %v; want RetryAfter %v", te, ok, tc.retry)
			}
			if got := keys.StatusCode(err); got != http.StatusTooManyRequests {
				t.Errorf("StatusCode: got %d; want 429", got)
			}
			if got := keys.ErrorCode(err); got != "too_many_failed_authentications" {
				t.Errorf("ErrorCode: got %q; want too_many_failed_authentications", got)
			}
			if got, want := keys.PublicMessage(err), "Too many failed authentication attempts from this address. Try again later."; got != want {
				t.Errorf("PublicMessage: got %q; want %q", got, want)
			}
			w := httptest.NewRecorder()
			keys.WriteError(w, nil, err)
			if got := w.Header().Get("Retry-After"); got != tc.want {
				t.Errorf("Retry-After: got %q; want %q", got, tc.want)
			}
			if w.Code != 429 || w.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("WriteError: got %d, WWW-Authenticate %q; want 429 without a challenge", w.Code, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	if got, want := keys.ErrThrottled.Error(), "keys: too many failed authentications"; got != want {
		t.Errorf("ErrThrottled: got %q; want %q", got, want)
	}
}
