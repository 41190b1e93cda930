package ratelimit

import (
	"math"
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
//
// It allocates twice whatever it writes: one string holding every value and
// one slice holding them all, which the headers share.
func WriteHeaders(h http.Header, d Decision) {
	var b headerBatch
	if ra := d.RetryAfter(); ra > 0 {
		b.add("Retry-After", func(p []byte) []byte { return strconv.AppendInt(p, retryAfterSeconds(ra), 10) })
	}
	if q := d.Requests; q.Limit > 0 {
		b.addInt("X-Ratelimit-Limit-Requests", q.Limit)
		b.addInt("X-Ratelimit-Remaining-Requests", max(q.Remaining, 0))
		b.add("X-Ratelimit-Reset-Requests", func(p []byte) []byte { return appendReset(p, q.Reset) })
	}
	if q := d.Tokens; q.Limit > 0 {
		b.addInt("X-Ratelimit-Limit-Tokens", q.Limit)
		b.addInt("X-Ratelimit-Remaining-Tokens", max(q.Remaining, 0))
		b.add("X-Ratelimit-Reset-Tokens", func(p []byte) []byte { return appendReset(p, q.Reset) })
	}
	b.flush(h)
}

// headerBatch gathers up to seven header values in one buffer on the stack,
// to set them with two allocations in all.
type headerBatch struct {
	buf  [192]byte
	n    int
	keys [7]string
	ends [7]int
	len  int
}

// add appends the value that app writes as key's.
func (b *headerBatch) add(key string, app func([]byte) []byte) {
	p := app(b.buf[:b.n])
	if len(p) > len(b.buf) { // cannot happen for the values written here
		p = p[:len(b.buf)]
	}
	b.n = copy(b.buf[:], p) // p is b.buf's array unless it grew
	b.keys[b.len], b.ends[b.len] = key, b.n
	b.len++
}

func (b *headerBatch) addInt(key string, v int64) {
	b.add(key, func(p []byte) []byte { return strconv.AppendInt(p, v, 10) })
}

// flush sets the gathered values in h; keys are in canonical form.
func (b *headerBatch) flush(h http.Header) {
	if b.len == 0 {
		return
	}
	all := string(b.buf[:b.n])
	vals := make([]string, b.len)
	start := 0
	for i := range b.len {
		vals[i] = all[start:b.ends[i]]
		start = b.ends[i]
		h[b.keys[i]] = vals[i : i+1 : i+1]
	}
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
