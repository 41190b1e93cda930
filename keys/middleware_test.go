package keys_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func TestMiddleware(t *testing.T) {
	fx := newFixture(t, nil)
	key, rec := fx.issue(t, keys.Spec{Scopes: keys.Scopes{Endpoints: []string{"/v1/chat/*", "/v1/models"}}})
	ipKey, _ := fx.issue(t, keys.Spec{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	revokedKey, revoked := fx.issue(t, keys.Spec{})
	fx.m.Revoke(t.Context(), revoked.ID)

	var seen *http.Request
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		p, ok := keys.PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in context")
			return
		}
		io.WriteString(w, p.ID)
	})
	h := fx.m.Middleware(nil)(next)

	for _, tc := range []struct {
		name, path, remote string
		header             map[string]string
		status             int
		code, body         string
	}{
		{"bearer ok", "/v1/chat/completions", "203.0.113.1:4000", map[string]string{"Authorization": "Bearer " + key}, 200, "", rec.ID},
		{"x-api-key ok", "/v1/models", "203.0.113.1:4000", map[string]string{"X-Api-Key": key}, 200, "", rec.ID},
		{"query key ok", "/v1/chat/completions?key=" + key + "&alt=sse", "203.0.113.1:4000", nil, 200, "", rec.ID},
		{"missing", "/v1/chat/completions", "203.0.113.1:4000", nil, 401, "invalid_api_key", ""},
		{"malformed", "/v1/chat/completions", "203.0.113.1:4000", map[string]string{"Authorization": "Bearer wk_nope"}, 401, "invalid_api_key", ""},
		{"revoked", "/v1/chat/completions", "203.0.113.1:4000", map[string]string{"Authorization": "Bearer " + revokedKey}, 401, "api_key_revoked", ""},
		{"endpoint scope", "/v1/embeddings", "203.0.113.1:4000", map[string]string{"Authorization": "Bearer " + key}, 403, "permission_denied", ""},
		{"ip allowed", "/v1/x", "192.0.2.9:1", map[string]string{"Authorization": "Bearer " + ipKey}, 200, "", ""},
		{"ip refused", "/v1/x", "198.51.100.1:1", map[string]string{"Authorization": "Bearer " + ipKey}, 403, "permission_denied", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest("POST", tc.path, nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d (body %s)", w.Code, tc.status, w.Body)
			}
			for _, k := range []string{key, ipKey, revokedKey} {
				if strings.Contains(w.Body.String(), k) || strings.Contains(w.Body.String(), k[3:20]) {
					t.Fatalf("response contains a key: %s", w.Body)
				}
			}
			if tc.status == 200 {
				if tc.body != "" && w.Body.String() != tc.body {
					t.Errorf("body %q; want %q", w.Body, tc.body)
				}
				if strings.Contains(seen.URL.RawQuery, "key=") || strings.Contains(seen.RequestURI, key) {
					t.Errorf("next saw the query key: %q", seen.RequestURI)
				}
				return
			}
			var e openAIError
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("error body is not JSON: %s", w.Body)
			}
			if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("error %+v; want code %q with a message and type", e.Error, tc.code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestMiddlewareErrorHandlerHook(t *testing.T) {
	fx := newFixture(t, nil)
	var got error
	var gotReq *http.Request
	h := fx.m.Middleware(&keys.MiddlewareOptions{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got, gotReq = err, r
			w.WriteHeader(keys.StatusCode(err))
		},
	})(http.NotFoundHandler())
	r := httptest.NewRequest("GET", "/v1beta/models?key=wk_bad", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 || got == nil {
		t.Fatalf("status %d, err %v; want 401 through the hook", w.Code, got)
	}
	if strings.Contains(got.Error(), "wk_bad") || strings.Contains(gotReq.URL.String(), "wk_bad") {
		t.Errorf("the hook saw the key: err %q, url %q", got, gotReq.URL)
	}
}

func TestMiddlewareClientIPHook(t *testing.T) {
	fx := newFixture(t, nil)
	key, _ := fx.issue(t, keys.Spec{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}})
	h := fx.m.Middleware(&keys.MiddlewareOptions{
		ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("2001:db8::5") },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("status %d; want 200 via the ClientIP hook", w.Code)
	}
}
