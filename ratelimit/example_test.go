package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/wicket-gw/wicket/ratelimit"
)

// fixedNow is a clock that stands still, so that the examples' output does
// not depend on when they run.
func fixedNow() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

func ExampleNew() {
	l, err := ratelimit.New(&ratelimit.Options{Now: fixedNow}) // in-memory backend
	if err != nil {
		panic(err)
	}
	lim := ratelimit.Limits{RequestsPerMinute: 2}
	for range 3 {
		d, err := l.Allow(context.Background(), "key_1", lim)
		var le *ratelimit.LimitError
		if errors.As(err, &le) {
			fmt.Printf("refused: %v, retry after %v\n", err, le.Decision.RetryAfter())
			continue
		}
		fmt.Printf("allowed, %d remaining\n", d.Requests.Remaining)
	}
	// Output:
	// allowed, 1 remaining
	// allowed, 0 remaining
	// refused: ratelimit: limit exceeded: requests per minute, retry after 30s
}

func ExampleNewMemory() {
	m, err := ratelimit.NewMemory(&ratelimit.MemoryOptions{MaxSubjects: 10_000})
	if err != nil {
		panic(err)
	}
	l, err := ratelimit.New(&ratelimit.Options{Backend: m, Now: fixedNow})
	if err != nil {
		panic(err)
	}
	for _, subject := range []string{"key_1", "key_2", "key_1"} {
		if _, err := l.Allow(context.Background(), subject, ratelimit.Limits{RequestsPerMinute: 60}); err != nil {
			panic(err)
		}
	}
	fmt.Println("subjects tracked:", m.Len())
	// Output:
	// subjects tracked: 2
}

// The gateway's path for one request: admit, reserve the token estimate,
// forward, settle to the exact count, release.
func ExampleLimiter_Admit() {
	ctx := context.Background()
	l, err := ratelimit.New(&ratelimit.Options{Now: fixedNow})
	if err != nil {
		panic(err)
	}
	lim := ratelimit.Limits{RequestsPerMinute: 60, TokensPerMinute: 10_000, MaxConcurrent: 4}

	p, err := l.Admit(ctx, "key_1", lim)
	defer p.Release() // on every exit path; nil-safe
	if err != nil {
		fmt.Println(err)
		return
	}
	estimate := ratelimit.ByteEstimator{}.EstimateTokens(ratelimit.EstimateInput{
		PromptBytes:     8000,
		MaxOutputTokens: 1000,
	})
	if err := p.ReserveTokens(ctx, estimate); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("reserved:", estimate, "remaining:", p.Decision().Tokens.Remaining)

	// ... forward; the upstream reports 2,150 tokens used ...
	if err := p.Settle(ctx, 2150); err != nil {
		fmt.Println(err)
		return
	}
	d := p.Decision()
	fmt.Println("settled, remaining:", d.Tokens.Remaining, "reset in:", d.Tokens.Reset)
	// Output:
	// reserved: 3000 remaining: 7000
	// settled, remaining: 7850 reset in: 12.9s
}

func ExampleLimiter_Middleware() {
	l, err := ratelimit.New(&ratelimit.Options{Now: fixedNow})
	if err != nil {
		panic(err)
	}
	limit := l.Middleware(ratelimit.MiddlewareOptions{
		// A real gateway reads the authenticated key from the context.
		Subject: func(r *http.Request) (string, ratelimit.Limits, bool) {
			return r.Header.Get("X-Key-Id"), ratelimit.Limits{RequestsPerMinute: 1, MaxConcurrent: 2}, true
		},
	})
	h := limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		r.Header.Set("X-Key-Id", "key_1")
		h.ServeHTTP(rec, r)
		fmt.Print(rec.Code, " retry-after=", rec.Header().Get("Retry-After"), " ", rec.Body.String())
	}
	// Output:
	// 200 retry-after= ok
	// 429 retry-after=60 {"error":{"message":"Rate limit reached for requests per minute. Please try again in 60s.","type":"rate_limit_error","param":null,"code":null}}
}

func ExampleWriteHeaders() {
	h := http.Header{}
	ratelimit.WriteHeaders(h, ratelimit.Decision{
		Requests: ratelimit.Quota{Limit: 60, Remaining: 0, Reset: time.Minute, RetryAfter: 1500 * time.Millisecond},
		Tokens:   ratelimit.Quota{Limit: 150_000, Remaining: 149_000, Reset: 400 * time.Millisecond},
		Refused:  ratelimit.Requests,
	})
	for _, name := range []string{
		"retry-after",
		"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
		"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
	} {
		fmt.Printf("%s: %s\n", name, h.Get(name))
	}
	// Output:
	// retry-after: 2
	// x-ratelimit-limit-requests: 60
	// x-ratelimit-remaining-requests: 0
	// x-ratelimit-reset-requests: 1m0s
	// x-ratelimit-limit-tokens: 150000
	// x-ratelimit-remaining-tokens: 149000
	// x-ratelimit-reset-tokens: 400ms
}

func ExampleNewAuthThrottle() {
	a, err := ratelimit.NewAuthThrottle(&ratelimit.AuthThrottleOptions{
		MaxFailures: 3,
		Window:      time.Minute,
		Cooldown:    15 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	now := fixedNow()
	ip := netip.MustParseAddr("2001:db8::1")
	for range 3 {
		if _, blocked, _ := a.Blocked(ip, now); blocked {
			break
		}
		// ... the key fails to verify ...
		if retryAfter, blocked := a.Fail(ip, now); blocked {
			fmt.Println("blocked for", retryAfter)
		}
	}
	// Another address of the same /64 is blocked too.
	retryAfter, blocked, _ := a.Blocked(netip.MustParseAddr("2001:db8::2"), now.Add(time.Minute))
	fmt.Println(blocked, retryAfter)
	// Output:
	// blocked for 15m0s
	// true 14m0s
}

func ExampleByteEstimator() {
	var e ratelimit.TokenEstimator = ratelimit.ByteEstimator{}
	fmt.Println(e.EstimateTokens(ratelimit.EstimateInput{PromptText: "Hello, world!", MaxOutputTokens: 100}))
	// Output:
	// 104
}
