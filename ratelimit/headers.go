package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// WriteHeaders sets in h the rate-limit headers that the official OpenAI SDKs
// read, from d:
//
//   - retry-after: when d refused the request with a retry time, in whole
//     seconds rounded up, at least 1;
//   - x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
//     x-ratelimit-reset-requests: when d has a request limit;
//   - x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens,
//     x-ratelimit-reset-tokens: when d has a token limit.
//
// Remaining values are never negative (a token bucket in debt shows 0).
// Reset values are durations formatted as OpenAI does ("1s", "6m0s", "20ms"):
// rounded up to the millisecond and written by time.Duration.String.
// Dimensions that are unlimited (or were not checked) get no headers, and
// headers of theirs already in h are left alone. Concurrency has no header.
func WriteHeaders(h http.Header, d Decision) {
	if ra := d.RetryAfter(); ra > 0 {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(ra), 10))
	}
	if q := d.Requests; q.Limit > 0 {
		h.Set("X-Ratelimit-Limit-Requests", strconv.FormatInt(q.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Requests", strconv.FormatInt(max(q.Remaining, 0), 10))
		h.Set("X-Ratelimit-Reset-Requests", formatReset(q.Reset))
	}
	if q := d.Tokens; q.Limit > 0 {
		h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(q.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(max(q.Remaining, 0), 10))
		h.Set("X-Ratelimit-Reset-Tokens", formatReset(q.Reset))
	}
}

// formatReset formats d as OpenAI's x-ratelimit-reset-* values: rounded up to
// the millisecond, in time.Duration's format.
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r
	}
	return d.String()
}
