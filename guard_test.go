package wicket_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
)

// countingBody is a request body that counts what the server read.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return nil }

func TestBodyCapBothKinds(t *testing.T) {
	const limit = 4096
	e := newEnv(t, single("m", newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
		t.Error("upstream reached with an over-long body")
	}).provider(t, "openai"), ""), func(c *wicket.Config) { c.MaxBodyBytes = limit })
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("y", 1<<20) + `"}]}`
	for _, tc := range []struct {
		name     string
		declared bool
		maxRead  int64
	}{
		{"content-length", true, 0},
		{"chunked", false, limit + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(big)}
			r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
			r.Body = body
			r.ContentLength = -1
			if tc.declared {
				r.ContentLength = int64(len(big))
			}
			r.Header.Set("Authorization", "Bearer "+e.key)
			w := httptest.NewRecorder()
			e.gw.ServeHTTP(w, r)
			if w.Code != 413 || !strings.Contains(w.Body.String(), "request_too_large") {
				t.Fatalf("status %d %s; want 413 request_too_large", w.Code, w.Body)
			}
			if n := body.n.Load(); n > tc.maxRead {
				t.Errorf("read %d body bytes; want at most %d", n, tc.maxRead)
			}
		})
	}
	// A body right at the limit passes.
	ok := `{"model":"m","x":"` + strings.Repeat("z", limit-len(`{"model":"m","x":""}`)) + `"}`
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(ok))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer "+e.key)
	w := httptest.NewRecorder()
	wicket.Guard(wicket.GuardOptions{MaxBodyBytes: limit})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || len(b) != limit {
			t.Errorf("read %d bytes, %v; want %d", len(b), err, limit)
		}
	})).ServeHTTP(w, r)
}

func TestRequestID(t *testing.T) {
	var seen string
	h := wicket.Guard(wicket.GuardOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = wicket.RequestID(r.Context())
	}))
	ids := map[string]bool{}
	for _, tc := range []struct{ header, in, client string }{
		{"X-Request-Id", "abc-123_X.y:z", "abc-123_X.y:z"},
		{"X-Client-Request-Id", "abc-123_X.y:z", "abc-123_X.y:z"},
		{"X-Request-Id", "", ""},
		{"X-Request-Id", "bad id\r\nX-Evil: 1", ""},
		{"X-Client-Request-Id", strings.Repeat("a", 129), ""},
		{"X-Request-Id", "req_000000000000000000000000", "req_000000000000000000000000"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.in != "" {
			r.Header.Set(tc.header, tc.in)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("X-Request-Id")
		if got != seen {
			t.Errorf("echoed %q but context had %q", got, seen)
		}
		// The request's own ID is always the gateway's, never the client's.
		if !strings.HasPrefix(got, "req_") || len(got) != 28 || got == tc.in || ids[got] {
			t.Errorf("%s %q: got request ID %q; want a new generated req_ ID", tc.header, tc.in, got)
		}
		ids[got] = true
		if c := w.Header().Get("X-Client-Request-Id"); c != tc.client {
			t.Errorf("%s %q: X-Client-Request-Id = %q; want %q", tc.header, tc.in, c, tc.client)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	var seen netip.Addr
	h := wicket.Guard(wicket.GuardOptions{TrustedProxies: trusted})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = wicket.ClientIP(r.Context())
	}))
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's XFF ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"right-most untrusted", "10.0.0.2:80", []string{"1.1.1.1, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"forged left entries", "10.0.0.2:80", []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},
		{"all trusted", "10.0.0.2:80", []string{"10.0.0.9"}, "10.0.0.9"},
		{"garbage stops the walk", "10.0.0.2:80", []string{"1.1.1.1, nonsense"}, "10.0.0.2"},
		{"ipv6", "[fd00::1]:80", []string{"2001:db8::7"}, "2001:db8::7"},
		{"mapped", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if seen.String() != tc.want {
				t.Errorf("client IP %v; want %s", seen, tc.want)
			}
		})
	}
}

func TestPanicAnswers500WithoutDump(t *testing.T) {
	var logs bytes.Buffer
	anthropic := func(string) providers.Dialect { return providers.DialectAnthropic }
	h := wicket.Guard(wicket.GuardOptions{Logger: newJSONLogger(&logs), Dialect: anthropic})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("secret prompt text")
	}))
	r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"secret":"body"}`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 500 {
		t.Fatalf("status %d; want 500", w.Code)
	}
	var ae struct {
		Type  string `json:"type"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Type != "error" || ae.Error.Type != "api_error" {
		t.Errorf("want an Anthropic-shaped error for /v1/messages, got %s", w.Body)
	}
	for _, s := range []string{w.Body.String(), logs.String()} {
		if strings.Contains(s, "secret") {
			t.Errorf("panic value or body leaked: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Errorf("panic not logged: %q", logs.String())
	}
	// After the response has started, a panic aborts the connection.
	h = wicket.Guard(wicket.GuardOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		panic("late")
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("late panic: recovered %v; want http.ErrAbortHandler", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
