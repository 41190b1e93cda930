package ratelimit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

// subjectFromHeader reads the subject from a test header; requests without
// one are not limited.
func subjectFromHeader(lim ratelimit.Limits) func(*http.Request) (string, ratelimit.Limits, bool) {
	return func(r *http.Request) (string, ratelimit.Limits, bool) {
		s := r.Header.Get("Subject")
		return s, lim, s != ""
	}
}

func serve(h http.Handler, subject string) (rec *httptest.ResponseRecorder, panicked any) {
	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	if subject != "" {
		r.Header.Set("Subject", subject)
	}
	defer func() { panicked = recover() }()
	h.ServeHTTP(rec, r)
	return rec, nil
}

func TestMiddlewareRequests(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	var sawPermit *ratelimit.Permit
	h := l.Middleware(ratelimit.MiddlewareOptions{
		Subject: subjectFromHeader(ratelimit.Limits{RequestsPerMinute: 2}),
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawPermit = ratelimit.PermitFrom(r.Context())
		w.WriteHeader(http.StatusOK)
	}))

	rec, _ := serve(h, "key_1")
	if rec.Code != http.StatusOK {
		t.Fatalf("first request: status %d; want 200", rec.Code)
	}
	if sawPermit == nil || sawPermit.Subject() != "key_1" {
		t.Fatalf("PermitFrom in the handler = %v; want key_1's Permit", sawPermit)
	}
	wantHeaders := http.Header{
		"X-Ratelimit-Limit-Requests":     {"2"},
		"X-Ratelimit-Remaining-Requests": {"1"},
		"X-Ratelimit-Reset-Requests":     {"30s"},
	}
	if diff := cmp.Diff(wantHeaders, rec.Header()); diff != "" {
		t.Fatalf("first request: headers (-want +got):\n%s", diff)
	}
	serve(h, "key_1")

	rec, _ = serve(h, "key_1")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d; want 429", rec.Code)
	}
	wantHeaders = http.Header{
		"Content-Type":                   {"application/json"},
		"X-Content-Type-Options":         {"nosniff"},
		"Retry-After":                    {"30"},
		"X-Ratelimit-Limit-Requests":     {"2"},
		"X-Ratelimit-Remaining-Requests": {"0"},
		"X-Ratelimit-Reset-Requests":     {"1m0s"},
	}
	if diff := cmp.Diff(wantHeaders, rec.Header()); diff != "" {
		t.Fatalf("third request: headers (-want +got):\n%s", diff)
	}
	wantBody := `{"error":{"message":"Rate limit reached for requests per minute. Please try again in 30s.","type":"rate_limit_error","param":null,"code":null}}` + "\n"
	if got := rec.Body.String(); got != wantBody {
		t.Fatalf("third request: body\n%s\nwant\n%s", got, wantBody)
	}

	// Another subject, and a request without one, pass.
	if rec, _ := serve(h, "key_2"); rec.Code != http.StatusOK {
		t.Fatalf("other subject: status %d; want 200", rec.Code)
	}
	sawPermit = nil
	if rec, _ := serve(h, ""); rec.Code != http.StatusOK || len(rec.Header()) != 0 || sawPermit != nil {
		t.Fatalf("request without a subject: status %d, headers %v, permit %v; want 200, none, nil", rec.Code, rec.Header(), sawPermit)
	}
}

// TestMiddlewareConcurrency checks that the slot is released on every exit
// path of the next handler: normal return, error response, panic.
func TestMiddlewareConcurrency(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	mw := l.Middleware(ratelimit.MiddlewareOptions{Subject: subjectFromHeader(ratelimit.Limits{MaxConcurrent: 1})})

	// While one request is in the handler, a second is refused.
	var inner *httptest.ResponseRecorder
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner, _ = serve(mw(http.NotFoundHandler()), "key_1")
	}))
	if rec, _ := serve(h, "key_1"); rec.Code != http.StatusOK {
		t.Fatalf("outer request: status %d; want 200", rec.Code)
	}
	if inner.Code != http.StatusTooManyRequests || inner.Header().Get("Retry-After") != "1" {
		t.Fatalf("concurrent request: status %d, retry-after %q; want 429, 1", inner.Code, inner.Header().Get("Retry-After"))
	}

	handlers := map[string]http.HandlerFunc{
		"return": func(w http.ResponseWriter, r *http.Request) {},
		"error": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream failed", http.StatusBadGateway)
		},
		"panic": func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
	}
	for name, next := range handlers {
		t.Run(name, func(t *testing.T) {
			h := mw(next)
			for i := range 3 {
				rec, p := serve(h, "key_1")
				if rec.Code == http.StatusTooManyRequests {
					t.Fatalf("request %d refused: the slot leaked", i+1)
				}
				if name == "panic" && p != http.ErrAbortHandler {
					t.Fatalf("request %d: panic %v; want it to go on after the release", i+1, p)
				}
			}
		})
	}
}

func TestMiddlewareErrorHandler(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	var got error
	var gotHeader string
	h := l.Middleware(ratelimit.MiddlewareOptions{
		Subject: subjectFromHeader(ratelimit.Limits{RequestsPerMinute: 1}),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got, gotHeader = err, w.Header().Get("Retry-After")
			w.WriteHeader(http.StatusTeapot)
		},
	})(http.NotFoundHandler())
	serve(h, "key_1")
	rec, _ := serve(h, "key_1")
	var le *ratelimit.LimitError
	if rec.Code != http.StatusTeapot || !errors.As(got, &le) || le.Decision.Refused != ratelimit.Requests || gotHeader != "60" {
		t.Fatalf("status %d, err %v, retry-after %q; want 418, a requests *LimitError, 60", rec.Code, got, gotHeader)
	}
}

func TestMiddlewareBackendError(t *testing.T) {
	for _, err := range []error{errors.New("dial tcp 10.0.0.1:6379: refused"), ratelimit.ErrCapacity} {
		l, _ := ratelimit.New(&ratelimit.Options{Backend: failingBackend{err}})
		h := l.Middleware(ratelimit.MiddlewareOptions{Subject: subjectFromHeader(ratelimit.Limits{MaxConcurrent: 1})})(http.NotFoundHandler())
		rec, _ := serve(h, "key_1")
		want := `{"error":{"message":"The rate limiter is unavailable; please retry.","type":"server_error","param":null,"code":null}}` + "\n"
		if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
			t.Fatalf("%v: status %d, body %s; want 503, %s", err, rec.Code, rec.Body, want)
		}
		wantRetry := map[bool]string{true: "1", false: ""}[errors.Is(err, ratelimit.ErrCapacity)]
		if got := rec.Header().Get("Retry-After"); got != wantRetry {
			t.Fatalf("%v: retry-after %q; want %q", err, got, wantRetry)
		}
	}
}

func TestMiddlewareNilSubject(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware with a nil Subject did not panic")
		}
	}()
	l.Middleware(ratelimit.MiddlewareOptions{})
}
