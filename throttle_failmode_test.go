package wicket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/ratelimit"
)

// errThrottleStoreDown is a shared throttle backend's error; like a real
// client's, it names where the backend lives, which no client may see.
var errThrottleStoreDown = errors.New("dial tcp 10.9.8.7:6379: connect: connection refused")

// downThrottleBackend is a ratelimit.ThrottleBackend that is always down,
// as a Redis throttle is while Redis is.
type downThrottleBackend struct{}

func (downThrottleBackend) Blocked(context.Context, string, time.Time) (time.Time, error) {
	return time.Time{}, errThrottleStoreDown
}

func (downThrottleBackend) Fail(context.Context, string, int, time.Duration, time.Duration, time.Time) (time.Time, error) {
	return time.Time{}, errThrottleStoreDown
}

func (downThrottleBackend) Succeed(context.Context, string) error { return errThrottleStoreDown }

// throttleFailModeEnv is a gateway served over real HTTP whose failed-auth
// throttle's shared backend is down, failing in mode.
type throttleFailModeEnv struct {
	*env
	km       *keys.Manager
	store    *countingStore
	up       *upstream
	throttle *ratelimit.AuthThrottle
	told     atomic.Int64 // OnFallback calls
	logs     syncBuffer
}

func newThrottleFailModeEnv(t *testing.T, mode ratelimit.FailMode) *throttleFailModeEnv {
	t.Helper()
	te := &throttleFailModeEnv{store: &countingStore{MemoryStore: keys.NewMemoryStore()}}
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if te.km, err = keys.NewManager(te.store, h, &keys.Options{CacheTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	te.throttle, err = ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{
		MaxFailures: 3, Window: time.Minute, Cooldown: 10 * time.Minute,
		Backend: downThrottleBackend{}, FailMode: mode,
		OnFallback: func(f ratelimit.ThrottleFallback) {
			if f.Mode != mode {
				t.Errorf("OnFallback: got mode %v; want %v", f.Mode, mode)
			}
			te.told.Add(1)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	te.up = newUpstream(t, okUpstream)
	te.env = newEnv(t, single("fake-echo", te.up.provider(t, "openai"), ""), func(c *wicket.Config) {
		c.Keys, c.AuthThrottle = te.km, te.throttle
		c.Logger = slog.New(slog.NewJSONHandler(&te.logs, nil))
	})
	return te
}

func (te *throttleFailModeEnv) issue(t *testing.T) string {
	t.Helper()
	k, _, err := te.km.Issue(t.Context(), keys.Spec{Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAuthThrottleFailOpenOverHTTP: with the throttle's shared backend
// down and the throttle failing open, the gateway still blocks an address
// after MaxFailures failures (counted locally), before any store lookup,
// while the keys it has verified keep working.
func TestAuthThrottleFailOpenOverHTTP(t *testing.T) {
	te := newThrottleFailModeEnv(t, ratelimit.FailOpen)
	good, colleague := te.issue(t), te.issue(t)
	chatBody := chat("fake-echo")
	send := func(key string) (*http.Response, string) {
		resp := te.do(t, "POST", "/v1/chat/completions", chatBody, map[string]string{"Authorization": "Bearer " + key})
		return resp, readAll(t, resp)
	}
	if resp, body := send(good); resp.StatusCode != 200 {
		t.Fatalf("good key: %d %s; want 200", resp.StatusCode, body)
	}
	for i := range 3 {
		k, _ := te.km.Format().Generate(nil)
		if resp, body := send(k); resp.StatusCode != 401 {
			t.Fatalf("unknown key %d: %d %s; want 401", i+1, resp.StatusCode, body)
		}
	}
	lookups := te.store.lookups.Load()
	if lookups != 4 {
		t.Errorf("store lookups: got %d; want 4 (one per key tried)", lookups)
	}
	k, _ := te.km.Format().Generate(nil)
	for _, key := range []string{k, colleague} {
		resp, body := send(key)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "600" || !strings.Contains(body, "too_many_failed_authentications") {
			t.Errorf("after 3 failures: %d, Retry-After %q, %s; want 429 too_many_failed_authentications, Retry-After 600",
				resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if n := te.store.lookups.Load() - lookups; n != 0 {
		t.Errorf("store lookups while blocked: got %d; want 0", n)
	}
	if resp, body := send(good); resp.StatusCode != 200 {
		t.Errorf("verified, cached key from the blocked address: %d %s; want 200", resp.StatusCode, body)
	}
	if got := te.throttle.Mode(); got != ratelimit.FailOpen {
		t.Errorf("Mode: got %v; want open", got)
	}
	// One Blocked per request whose key is not cached (the first use of
	// the good key, three unknown keys, the two refused while blocked) and
	// one Fail per unknown key.
	if fb := te.throttle.Fallbacks(); fb != 6+3 || te.told.Load() != int64(fb) {
		t.Errorf("Fallbacks %d, OnFallback told %d; want both 9", fb, te.told.Load())
	}
}

// TestAuthThrottleFailClosedOverHTTP: with the throttle's shared backend
// down and the throttle failing closed, a key the gateway has not verified
// is refused with 503 and Retry-After: 1 in the caller's dialect, before
// any store lookup, in a body naming neither the address, the key nor the
// backend; the refusal is logged without them.
func TestAuthThrottleFailClosedOverHTTP(t *testing.T) {
	te := newThrottleFailModeEnv(t, ratelimit.FailClosed)
	key := te.issue(t)
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		header map[string]string
		check  func(t *testing.T, body []byte)
	}{
		{"openai", "/v1/chat/completions", chat("fake-echo"), map[string]string{"Authorization": "Bearer " + key}, func(t *testing.T, body []byte) {
			var e struct {
				Error struct {
					Message, Type, Code string
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Type != "server_error" || e.Error.Code != "service_unavailable" || e.Error.Message == "" {
				t.Errorf("body %s (%v); want OpenAI's server_error, code service_unavailable", body, err)
			}
		}},
		{"anthropic", "/v1/messages", messagesBody, anthropicHeader(key), func(t *testing.T, body []byte) {
			var e struct {
				Type  string `json:"type"`
				Error struct {
					Type, Message string
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type != "overloaded_error" || e.Error.Message == "" || e.RequestID == "" {
				t.Errorf("body %s (%v); want Anthropic's overloaded_error with a request_id", body, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := te.do(t, "POST", tc.path, tc.body, tc.header)
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status: %d %s; want 503", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After: got %q; want 1", got)
			}
			tc.check(t, []byte(body))
			for _, leak := range []string{"127.0.0.1", "10.9.8.7", "6379", key, key[:12]} {
				if strings.Contains(body, leak) {
					t.Errorf("body %s contains %q", body, leak)
				}
			}
		})
	}
	if n := te.store.lookups.Load(); n != 0 {
		t.Errorf("store lookups: got %d; want 0", n)
	}
	if n := len(te.up.requests()); n != 0 {
		t.Errorf("upstream requests: got %d; want 0", n)
	}
	if got := te.throttle.Mode(); got != ratelimit.FailClosed {
		t.Errorf("Mode: got %v; want closed", got)
	}
	if fb := te.throttle.Fallbacks(); fb != 2 || te.told.Load() != 2 {
		t.Errorf("Fallbacks %d, OnFallback told %d; want both 2 (one Blocked per request)", fb, te.told.Load())
	}
	logs := te.logs.String()
	if strings.Count(logs, "wicket: failed-auth throttle unavailable") != 2 || strings.Contains(logs, "key store failed") {
		t.Errorf("logs %s; want two throttle-unavailable records and no store failure", logs)
	}
	for _, leak := range []string{"127.0.0.1", "10.9.8.7", key} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs %s contain %q", logs, leak)
		}
	}
}
