package keys_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

func TestExtractKey(t *testing.T) {
	const k = "wk_abc123"
	for _, tc := range []struct {
		name    string
		headers map[string][]string
		query   string
		want    string
		src     keys.Source
		err     error
	}{
		{"bearer", map[string][]string{"Authorization": {"Bearer " + k}}, "", k, keys.SourceAuthorization, nil},
		{"bearer lower", map[string][]string{"Authorization": {"bearer " + k}}, "", k, keys.SourceAuthorization, nil},
		{"bearer spaces", map[string][]string{"Authorization": {"  Bearer   " + k + " "}}, "", k, keys.SourceAuthorization, nil},
		{"x-api-key", map[string][]string{"X-Api-Key": {k}}, "", k, keys.SourceXAPIKey, nil},
		{"x-goog-api-key", map[string][]string{"X-Goog-Api-Key": {k}}, "", k, keys.SourceXGoogAPIKey, nil},
		{"query", nil, "alt=sse&key=" + k, k, keys.SourceQuery, nil},
		{"same key twice", map[string][]string{"Authorization": {"Bearer " + k}, "X-Api-Key": {k}}, "", k, keys.SourceAuthorization, nil},
		{"missing", nil, "", "", keys.SourceNone, keys.ErrMissing},
		{"basic scheme", map[string][]string{"Authorization": {"Basic " + k}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"bearer empty", map[string][]string{"Authorization": {"Bearer "}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"no scheme", map[string][]string{"Authorization": {k}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"conflict", map[string][]string{"Authorization": {"Bearer " + k}, "X-Api-Key": {k + "x"}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"conflict query", map[string][]string{"X-Goog-Api-Key": {k}}, "key=other", "", keys.SourceNone, keys.ErrMalformed},
		{"repeated header", map[string][]string{"X-Api-Key": {k, k}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"repeated query", nil, "key=" + k + "&key=" + k, "", keys.SourceNone, keys.ErrMalformed},
		{"inner space", map[string][]string{"X-Api-Key": {"wk_a b"}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"too long", map[string][]string{"X-Api-Key": {strings.Repeat("a", 300)}}, "", "", keys.SourceNone, keys.ErrMalformed},
		{"non-ascii", map[string][]string{"X-Api-Key": {"wk_é"}}, "", "", keys.SourceNone, keys.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/chat/completions?"+tc.query, nil)
			for h, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(h, v)
				}
			}
			got, src, err := keys.ExtractKey(r)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v; want %v", err, tc.err)
				}
				if strings.Contains(err.Error(), k) {
					t.Fatalf("error %q contains the key", err)
				}
				return
			}
			if err != nil || got != tc.want || src != tc.src {
				t.Fatalf("got %q, %v, %v; want %q, %v", got, src, err, tc.want, tc.src)
			}
		})
	}
}

func TestStripQueryKey(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1beta/models/x:streamGenerateContent?alt=sse&key=wk_secret", nil)
	s := keys.StripQueryKey(r)
	if strings.Contains(s.URL.String(), "wk_secret") || strings.Contains(s.RequestURI, "wk_secret") {
		t.Fatalf("key left in URL %q / RequestURI %q", s.URL, s.RequestURI)
	}
	if s.URL.Query().Get("alt") != "sse" {
		t.Errorf("other parameters lost: %q", s.URL.RawQuery)
	}
	if !strings.Contains(r.URL.RawQuery, "key=") {
		t.Error("StripQueryKey modified the original request")
	}
	plain := httptest.NewRequest("GET", "/x?alt=sse", nil)
	if keys.StripQueryKey(plain) != plain {
		t.Error("a request without a key was copied")
	}
}

func FuzzExtractKey(f *testing.F) {
	f.Add("Bearer wk_abc", "", "", "")
	f.Add("bearer  wk_abc ", "wk_abc", "", "")
	f.Add("", "wk_abc", "wk_abd", "")
	f.Add("", "", "", "key=wk_abc&alt=sse")
	f.Add("Basic x", "", "", "key=%zz")
	f.Add("Bearer", "\x00", "é", "key=a&key=b")
	f.Fuzz(func(t *testing.T, auth, xapi, xgoog, query string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.RawQuery = query
		for name, v := range map[string]string{"Authorization": auth, "X-Api-Key": xapi, "X-Goog-Api-Key": xgoog} {
			if v != "" {
				req.Header[name] = []string{v}
			}
		}
		key, src, err := keys.ExtractKey(req)
		if err != nil {
			if key != "" || src != keys.SourceNone {
				t.Fatalf("error %v with key %q, source %v", err, key, src)
			}
			if !errors.Is(err, keys.ErrMissing) && !errors.Is(err, keys.ErrMalformed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			for _, v := range []string{auth, xapi, xgoog, query} {
				if len(v) >= 8 && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q contains input %q", err, v)
				}
			}
			return
		}
		if key == "" || len(key) > 256 || strings.ContainsAny(key, " \t\r\n") {
			t.Fatalf("implausible key %q accepted", key)
		}
		switch src {
		case keys.SourceAuthorization:
			if !strings.Contains(auth, key) {
				t.Fatalf("key %q not from Authorization %q", key, auth)
			}
		case keys.SourceXAPIKey:
			if strings.TrimSpace(xapi) != key {
				t.Fatalf("key %q not from x-api-key %q", key, xapi)
			}
		case keys.SourceXGoogAPIKey:
			if strings.TrimSpace(xgoog) != key {
				t.Fatalf("key %q not from x-goog-api-key %q", key, xgoog)
			}
		case keys.SourceQuery:
		default:
			t.Fatalf("source %v with a key", src)
		}
		s := keys.StripQueryKey(req)
		if s.URL.Query().Has("key") {
			t.Fatalf("StripQueryKey left a key parameter in %q", s.URL.RawQuery)
		}
	})
}
