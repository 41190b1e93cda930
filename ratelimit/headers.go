package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/wicket-gw/wicket/internal/hdrbatch"
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
//
// It allocates twice whatever it writes: one string holding every value and
// one slice holding them all, which the headers share.
func WriteHeaders(h http.Header, d Decision) {
	var b hdrbatch.Batch
	if ra := d.RetryAfter(); ra > 0 {
		b.AddInt("Retry-After", retryAfterSeconds(ra))
	}
	if q := d.Requests; q.Limit > 0 {
		b.AddInt("X-Ratelimit-Limit-Requests", q.Limit)
		b.AddInt("X-Ratelimit-Remaining-Requests", max(q.Remaining, 0))
		b.End("X-Ratelimit-Reset-Requests", appendReset(b.Cur(), q.Reset))
	}
	if q := d.Tokens; q.Limit > 0 {
		b.AddInt("X-Ratelimit-Limit-Tokens", q.Limit)
		b.AddInt("X-Ratelimit-Remaining-Tokens", max(q.Remaining, 0))
		b.End("X-Ratelimit-Reset-Tokens", appendReset(b.Cur(), q.Reset))
	}
	b.Flush(h)
}

// appendReset appends d as OpenAI's x-ratelimit-reset-* values are written:
// time.Duration.String of d rounded up to the millisecond, without
// allocating.
func appendReset(p []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(p, "0s"...)
	}
	if r := d % time.Millisecond; r != 0 {
		if d > math.MaxInt64-time.Millisecond {
			return append(p, d.String()...)
		}
		d += time.Millisecond - r
	}
	ms := int64(d / time.Millisecond)
	if d < time.Second {
		return append(strconv.AppendInt(p, ms, 10), "ms"...)
	}
	secs, frac := ms/1000, ms%1000
	if h := secs / 3600; h > 0 {
		p = append(strconv.AppendInt(p, h, 10), 'h')
		p = append(strconv.AppendInt(p, secs/60%60, 10), 'm')
	} else if m := secs / 60; m > 0 {
		p = append(strconv.AppendInt(p, m, 10), 'm')
	}
	p = strconv.AppendInt(p, secs%60, 10)
	if frac > 0 {
		p = append(p, '.', byte('0'+frac/100))
		if frac%100 != 0 {
			p = append(p, byte('0'+frac/10%10))
			if frac%10 != 0 {
				p = append(p, byte('0'+frac%10))
			}
		}
	}
	return append(p, 's')
}
