package anthropic

import (
	"net/http"
	"strconv"
	"time"

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
func (FrontDoor) WriteLimitHeaders(h http.Header, l providers.RateLimits) {
	quota := func(prefix string, q providers.Quota) {
		if q.Limit <= 0 {
			return
		}
		h.Set(prefix+"-Limit", strconv.FormatInt(q.Limit, 10))
		h.Set(prefix+"-Remaining", strconv.FormatInt(max(q.Remaining, 0), 10))
		h.Set(prefix+"-Reset", resetTime(l.Now, q.Reset))
	}
	quota("Anthropic-Ratelimit-Requests", l.Requests)
	quota("Anthropic-Ratelimit-Tokens", l.Tokens)
	if l.RetryAfter > 0 {
		secs := int64((l.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
}

// resetTime returns now+d in UTC, rounded up to the second, in RFC 3339.
func resetTime(now time.Time, d time.Duration) string {
	t := now.Add(max(d, 0)).UTC()
	if r := t.Truncate(time.Second); r.Before(t) {
		t = r.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}
