package keys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

// holder is an application's own request context that answers keys'
// principal key with the record it holds.
type holder struct {
	context.Context
	rec *keys.Record
}

func (h *holder) Value(key any) any {
	if keys.IsPrincipalKey(key) && h.rec != nil {
		return h.rec
	}
	return h.Context.Value(key)
}

// With Attach, the middleware hands the verified record to the
// application's context instead of adding one; PrincipalFrom finds it.
func TestMiddlewareAttach(t *testing.T) {
	fx := newFixture(t, nil)
	key, rec := fx.issue(t, keys.Spec{})
	var attached int
	var seen *keys.Record
	h := fx.m.Middleware(&keys.MiddlewareOptions{
		ClientIP: func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.1") },
		Attach: func(r *http.Request, got *keys.Record) *http.Request {
			attached++
			r.Context().(*holder).rec = got
			return r
		},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().(*holder); !ok {
			t.Errorf("next got a context of type %T; want the application's own", r.Context())
		}
		seen, _ = keys.PrincipalFrom(r.Context())
	}))
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r = r.WithContext(&holder{Context: r.Context()})
	r.Header.Set("Authorization", "Bearer "+key)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if attached != 1 || seen == nil || seen.ID != rec.ID {
		t.Fatalf("Attach called %d times, PrincipalFrom gave %v; want once and the key's record", attached, seen)
	}
	if keys.IsPrincipalKey("principal") || keys.IsPrincipalKey(struct{}{}) {
		t.Error("IsPrincipalKey accepts a key that is not keys' own")
	}
}
