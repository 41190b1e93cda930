package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/ratelimit"
)

var _ keys.Throttle = (*ratelimit.AuthThrottle)(nil)

// errStoreDown is a throttle store's error; like a real client's, it names
// where the store lives, which no client may see.
var errStoreDown = errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")

// closedThrottle is a Throttle failing closed: Blocked always errors. It
// counts its calls.
type closedThrottle struct {
	blocked, fails atomic.Int64
}

func (c *closedThrottle) Blocked(netip.Addr, time.Time) (time.Duration, bool, error) {
	c.blocked.Add(1)
	return time.Hour, true, errStoreDown // results with an error must be ignored
}

func (c *closedThrottle) Fail(netip.Addr, time.Time) (time.Duration, bool) {
	c.fails.Add(1)
	return 0, false
}

// TestMiddlewareThrottleUnavailable: when the Throttle cannot tell whether
// the address is blocked, the middleware refuses as for a blocked address
// (cached keys pass, nothing else reaches the store) but with 503,
// Retry-After: 1 and ErrThrottleUnavailable, in a body naming neither the
// address, the key nor the cause.
func TestMiddlewareThrottleUnavailable(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.7")
	for _, tc := range []struct {
		name   string
		key    func(fx *fixture, cached, uncached, scoped string) string
		path   string
		status int
		code   string
	}{
		{"cached key served", func(_ *fixture, c, _, _ string) string { return c }, "/v1/chat/completions", 200, ""},
		{"cached key, endpoint not allowed", func(_ *fixture, _, _, s string) string { return s }, "/v1/embeddings", 403, "permission_denied"},
		{"valid key not cached", func(_ *fixture, _, u, _ string) string { return u }, "/v1/chat/completions", 503, "service_unavailable"},
		{"unknown key", func(fx *fixture, _, _, _ string) string { k, _ := fx.m.Format().Generate(nil); return k }, "/v1/chat/completions", 503, "service_unavailable"},
		{"malformed key", func(*fixture, string, string, string) string { return "wk_nope" }, "/v1/chat/completions", 503, "service_unavailable"},
		{"missing key", func(*fixture, string, string, string) string { return "" }, "/v1/chat/completions", 503, "service_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, nil)
			cached, _ := fx.issue(t, keys.Spec{})
			uncached, _ := fx.issue(t, keys.Spec{})
			scoped, _ := fx.issue(t, keys.Spec{Scopes: keys.Scopes{Endpoints: []string{"/v1/chat/*"}}})
			for _, k := range []string{cached, scoped} {
				if _, err := fx.m.Verify(t.Context(), k, ip); err != nil {
					t.Fatal(err)
				}
			}
			lookups := fx.store.lookups.Load()
			th := &closedThrottle{}
			var handled error
			h := fx.m.Middleware(&keys.MiddlewareOptions{
				Throttle: th,
				ClientIP: func(*http.Request) netip.Addr { return ip },
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					handled = err
					keys.WriteError(w, r, err)
				},
			})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("POST", tc.path, nil)
			key := tc.key(fx, cached, uncached, scoped)
			if key != "" {
				r.Header.Set("Authorization", "Bearer "+key)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != tc.status {
				t.Fatalf("status: got %d; want %d (body %s)", w.Code, tc.status, w.Body)
			}
			if n := fx.store.lookups.Load() - lookups; n != 0 {
				t.Errorf("store lookups: got %d; want 0", n)
			}
			if n := th.fails.Load(); n != 0 {
				t.Errorf("Throttle.Fail calls: got %d; want 0", n)
			}
			// A cached, valid key passes without asking the throttle.
			wantAsked := int64(1)
			if tc.status != 503 {
				wantAsked = 0
			}
			if n := th.blocked.Load(); n != wantAsked {
				t.Errorf("Throttle.Blocked calls: got %d; want %d", n, wantAsked)
			}
			if tc.status == 200 {
				return
			}
			var e openAIError
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != tc.code {
				t.Errorf("error body: got %s; want code %q", w.Body, tc.code)
			}
			if tc.status != 503 {
				return
			}
			if got := w.Header().Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After: got %q; want %q", got, "1")
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate: got %q; want none", got)
			}
			body := w.Body.String()
			for _, leak := range []string{"198.51.100", "10.9.8.7", "6379", "dial"} {
				if strings.Contains(body, leak) {
					t.Errorf("body %s contains %q", body, leak)
				}
			}
			if key != "" && strings.Contains(body, key) {
				t.Errorf("body %s contains the key", body)
			}
			if !errors.Is(handled, keys.ErrThrottleUnavailable) || !errors.Is(handled, errStoreDown) {
				t.Errorf("ErrorHandler got %v; want it to wrap ErrThrottleUnavailable and the throttle's error", handled)
			}
			if got, want := handled.Error(), "keys: failed-auth throttle unavailable"; got != want {
				t.Errorf("error message: got %q; want %q (not the cause's)", got, want)
			}
		})
	}
}

// TestThrottleUnavailableError: how the helpers answer
// ErrThrottleUnavailable, however wrapped.
func TestThrottleUnavailableError(t *testing.T) {
	err := errors.Join(errors.New("context"), keys.ErrThrottleUnavailable)
	if got := keys.StatusCode(err); got != http.StatusServiceUnavailable {
		t.Errorf("StatusCode: got %d; want 503", got)
	}
	if got := keys.ErrorCode(err); got != "service_unavailable" {
		t.Errorf("ErrorCode: got %q; want service_unavailable", got)
	}
	if got := keys.PublicMessage(err); got != "The key service is unavailable; try again later." {
		t.Errorf("PublicMessage: got %q", got)
	}
	h := http.Header{}
	keys.SetErrorHeaders(h, err)
	if got := h.Get("Retry-After"); got != "1" || len(h) != 1 {
		t.Errorf("SetErrorHeaders: got %v; want only Retry-After: 1", h)
	}
	// A store failure is 503 too, but gets no Retry-After.
	h = http.Header{}
	keys.SetErrorHeaders(h, context.DeadlineExceeded)
	if len(h) != 0 {
		t.Errorf("SetErrorHeaders(store failure): got %v; want no headers", h)
	}
}

// TestMiddlewareAuthThrottleFailModes: with a *ratelimit.AuthThrottle whose
// shared backend is down, a throttle failing open still blocks an address
// after MaxFailures failures (counted locally), and one failing closed
// answers 503 without a store lookup.
func TestMiddlewareAuthThrottleFailModes(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.5")
	for _, tc := range []struct {
		mode     ratelimit.FailMode
		statuses []int // of 4 requests with unknown keys
		lookups  int64
	}{
		{ratelimit.FailOpen, []int{401, 401, 401, 429}, 3},
		{ratelimit.FailClosed, []int{503, 503, 503, 503}, 0},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			fx := newFixture(t, nil)
			var told atomic.Int64
			th, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{MaxFailures: 3, Cooldown: time.Minute,
				Backend: downBackend{}, FailMode: tc.mode,
				OnFallback: func(f ratelimit.ThrottleFallback) {
					if f.Mode != tc.mode {
						t.Errorf("OnFallback mode: got %v; want %v", f.Mode, tc.mode)
					}
					told.Add(1)
				}})
			if err != nil {
				t.Fatal(err)
			}
			h := fx.m.Middleware(&keys.MiddlewareOptions{Throttle: th, ClientIP: func(*http.Request) netip.Addr { return ip }})(
				http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") }))
			lookups := fx.store.lookups.Load()
			var got []int
			for range tc.statuses {
				k, _ := fx.m.Format().Generate(nil)
				r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
				r.Header.Set("Authorization", "Bearer "+k)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				got = append(got, w.Code)
			}
			if !slices.Equal(got, tc.statuses) {
				t.Errorf("statuses: got %v; want %v", got, tc.statuses)
			}
			if n := fx.store.lookups.Load() - lookups; n != tc.lookups {
				t.Errorf("store lookups: got %d; want %d", n, tc.lookups)
			}
			if th.Fallbacks() == 0 || uint64(told.Load()) != th.Fallbacks() {
				t.Errorf("Fallbacks %d, told %d; want equal and above 0", th.Fallbacks(), told.Load())
			}
		})
	}
}

// downBackend is a ratelimit.ThrottleBackend that is always down.
type downBackend struct{}

func (downBackend) Blocked(context.Context, string, time.Time) (time.Time, error) {
	return time.Time{}, errStoreDown
}

func (downBackend) Fail(context.Context, string, int, time.Duration, time.Duration, time.Time) (time.Time, error) {
	return time.Time{}, errStoreDown
}

func (downBackend) Succeed(context.Context, string) error { return errStoreDown }
