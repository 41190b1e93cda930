package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

func TestWriteHeaders(t *testing.T) {
	tests := []struct {
		name string
		d    ratelimit.Decision
		want http.Header
	}{
		{
			name: "unlimited",
			d:    ratelimit.Decision{},
			want: http.Header{},
		},
		{
			name: "allowed, both dimensions",
			d: ratelimit.Decision{
				Requests:    ratelimit.Quota{Limit: 60, Remaining: 59, Reset: time.Second},
				Tokens:      ratelimit.Quota{Limit: 150000, Remaining: 149984, Reset: 6 * time.Minute},
				Concurrency: ratelimit.Quota{Limit: 4, Remaining: 3},
			},
			want: http.Header{
				"X-Ratelimit-Limit-Requests":     {"60"},
				"X-Ratelimit-Remaining-Requests": {"59"},
				"X-Ratelimit-Reset-Requests":     {"1s"},
				"X-Ratelimit-Limit-Tokens":       {"150000"},
				"X-Ratelimit-Remaining-Tokens":   {"149984"},
				"X-Ratelimit-Reset-Tokens":       {"6m0s"},
			},
		},
		{
			name: "requests refused, rounding",
			d: ratelimit.Decision{
				Requests: ratelimit.Quota{Limit: 3500, Remaining: 0, Reset: 20 * time.Millisecond, RetryAfter: 1200 * time.Millisecond},
				Refused:  ratelimit.Requests,
			},
			want: http.Header{
				"Retry-After":                    {"2"},
				"X-Ratelimit-Limit-Requests":     {"3500"},
				"X-Ratelimit-Remaining-Requests": {"0"},
				"X-Ratelimit-Reset-Requests":     {"20ms"},
			},
		},
		{
			name: "short retry-after is at least 1",
			d: ratelimit.Decision{
				Tokens:  ratelimit.Quota{Limit: 1000, Remaining: 0, Reset: 8640*time.Millisecond + time.Microsecond, RetryAfter: 17 * time.Millisecond},
				Refused: ratelimit.Tokens,
			},
			want: http.Header{
				"Retry-After":                  {"1"},
				"X-Ratelimit-Limit-Tokens":     {"1000"},
				"X-Ratelimit-Remaining-Tokens": {"0"},
				"X-Ratelimit-Reset-Tokens":     {"8.641s"},
			},
		},
		{
			name: "debt shows 0 remaining",
			d: ratelimit.Decision{
				Tokens:  ratelimit.Quota{Limit: 1000, Remaining: -600, Reset: 96 * time.Second, RetryAfter: 36060 * time.Millisecond},
				Refused: ratelimit.Tokens,
			},
			want: http.Header{
				"Retry-After":                  {"37"},
				"X-Ratelimit-Limit-Tokens":     {"1000"},
				"X-Ratelimit-Remaining-Tokens": {"0"},
				"X-Ratelimit-Reset-Tokens":     {"1m36s"},
			},
		},
		{
			name: "sub-millisecond reset rounds up, full bucket is 0s",
			d: ratelimit.Decision{
				Requests: ratelimit.Quota{Limit: 10, Remaining: 9, Reset: 999 * time.Microsecond},
				Tokens:   ratelimit.Quota{Limit: 10, Remaining: 10},
			},
			want: http.Header{
				"X-Ratelimit-Limit-Requests":     {"10"},
				"X-Ratelimit-Remaining-Requests": {"9"},
				"X-Ratelimit-Reset-Requests":     {"1ms"},
				"X-Ratelimit-Limit-Tokens":       {"10"},
				"X-Ratelimit-Remaining-Tokens":   {"10"},
				"X-Ratelimit-Reset-Tokens":       {"0s"},
			},
		},
		{
			name: "too large: no retry-after",
			d: ratelimit.Decision{
				Tokens:  ratelimit.Quota{Limit: 1000, Remaining: 1000},
				Refused: ratelimit.Tokens,
			},
			want: http.Header{
				"X-Ratelimit-Limit-Tokens":     {"1000"},
				"X-Ratelimit-Remaining-Tokens": {"1000"},
				"X-Ratelimit-Reset-Tokens":     {"0s"},
			},
		},
		{
			name: "concurrency refused: retry-after only",
			d: ratelimit.Decision{
				Concurrency: ratelimit.Quota{Limit: 2, RetryAfter: time.Second},
				Refused:     ratelimit.Concurrency,
			},
			want: http.Header{"Retry-After": {"1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			ratelimit.WriteHeaders(h, tt.d)
			if diff := cmp.Diff(tt.want, h); diff != "" {
				t.Fatalf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteHeadersNames checks the names the OpenAI SDKs look up.
func TestWriteHeadersNames(t *testing.T) {
	h := http.Header{}
	ratelimit.WriteHeaders(h, ratelimit.Decision{
		Requests: ratelimit.Quota{Limit: 1, RetryAfter: time.Second},
		Tokens:   ratelimit.Quota{Limit: 1},
		Refused:  ratelimit.Requests,
	})
	for _, name := range []string{
		"retry-after",
		"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
		"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
	} {
		if h.Get(name) == "" {
			t.Errorf("header %q missing", name)
		}
	}
	if len(h) != 7 {
		t.Errorf("%d headers; want 7", len(h))
	}
}
