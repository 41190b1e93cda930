package providers

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A RetryAdviser is a Response (or CanonResponse) that carries the
// upstream's advice on when to try it again. The built-in adapters'
// answers implement it.
type RetryAdviser interface {
	// RetryAfter returns how long the upstream asked callers to wait;
	// zero when it gave no usable advice.
	RetryAfter() time.Duration
}

// maxRetryAdvice bounds the advice read from headers, so that no value
// overflows a time.Duration.
const maxRetryAdvice = 24 * time.Hour

// ParseRetryAfter reads an upstream's advice on when to retry from its
// response headers: retry-after-ms (milliseconds, possibly fractional, as
// OpenAI and Anthropic send it) wins over retry-after (whole seconds, or
// an HTTP date, which is read against now). It returns zero for no advice,
// an advice in the past, or a value it cannot read; advice is capped at a
// day.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			return min(time.Duration(min(ms, float64(maxRetryAdvice/time.Millisecond))*float64(time.Millisecond)), maxRetryAdvice)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(maxRetryAdvice/time.Second)))*time.Second, maxRetryAdvice)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAdvice)
		}
	}
	return 0
}
