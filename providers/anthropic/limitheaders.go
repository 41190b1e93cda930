package anthropic

import (
	"net/http"
	"time"

	"github.com/wicket-gw/wicket/internal/hdrbatch"
	"github.com/wicket-gw/wicket/providers"
)

// WriteLimitHeaders implements providers.LimitHeaderWriter with
// Anthropic's rate-limit headers, as its SDKs and docs name them:
//
//	anthropic-ratelimit-requests-limit      the requests allowed per minute
//	anthropic-ratelimit-requests-remaining  the requests left
//	anthropic-ratelimit-requests-reset      when the quota is full again (RFC 3339)
//	anthropic-ratelimit-tokens-limit        likewise for tokens
//	anthropic-ratelimit-tokens-remaining
//	anthropic-ratelimit-tokens-reset
//	retry-after                             whole seconds to wait, when refused
//
// A quota with no Limit gets no headers. A reset time is l.Now plus the
// quota's Reset, in UTC, rounded up to the second; retry-after is
// l.RetryAfter rounded up, at least 1, and only set when it is positive.
//
// The values take two allocations in all (see internal/hdrbatch).
func (FrontDoor) WriteLimitHeaders(h http.Header, l providers.RateLimits) {
	var b hdrbatch.Batch
	if q := l.Requests; q.Limit > 0 {
		b.AddInt("Anthropic-Ratelimit-Requests-Limit", q.Limit)
		b.AddInt("Anthropic-Ratelimit-Requests-Remaining", max(q.Remaining, 0))
		b.AddTime("Anthropic-Ratelimit-Requests-Reset", resetTime(l.Now, q.Reset), time.RFC3339)
	}
	if q := l.Tokens; q.Limit > 0 {
		b.AddInt("Anthropic-Ratelimit-Tokens-Limit", q.Limit)
		b.AddInt("Anthropic-Ratelimit-Tokens-Remaining", max(q.Remaining, 0))
		b.AddTime("Anthropic-Ratelimit-Tokens-Reset", resetTime(l.Now, q.Reset), time.RFC3339)
	}
	if l.RetryAfter > 0 {
		secs := int64((l.RetryAfter + time.Second - 1) / time.Second)
		b.AddInt("Retry-After", max(secs, 1))
	}
	b.Flush(h)
}

// resetTime returns now+d in UTC, rounded up to the second.
func resetTime(now time.Time, d time.Duration) time.Time {
	t := now.Add(max(d, 0)).UTC()
	if r := t.Truncate(time.Second); r.Before(t) {
		t = r.Add(time.Second)
	}
	return t
}
