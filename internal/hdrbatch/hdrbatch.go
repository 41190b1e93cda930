// Package hdrbatch sets a handful of response header values with two
// allocations in all: the values are appended to one buffer on the stack,
// made one string, and set as substrings of it, each in a one-element slice
// cut from one shared array. The rate-limit headers of every request are
// written this way (ratelimit.WriteHeaders, the Anthropic door's own).
package hdrbatch

import (
	"net/http"
	"strconv"
	"time"
)

// maxValues is the most values one Batch holds.
const maxValues = 8

// Batch gathers up to eight header values. Use a zero Batch on the stack:
// Add each value, then Flush. A Batch must not be copied after first use.
type Batch struct {
	buf  [256]byte
	big  []byte // the values, once they outgrow buf
	n    int    // bytes of buf in use
	keys [maxValues]string
	ends [maxValues]int
	len  int
}

// Cur returns the buffer the next value is appended to; pass what the
// append returns to End. Appending with functions known to the compiler
// (strconv.AppendInt, time.Time.AppendFormat) keeps the Batch on the stack.
func (b *Batch) Cur() []byte {
	if b.big != nil {
		return b.big
	}
	return b.buf[:b.n]
}

// End records the value appended to Cur's buffer, p, as key's; key must be
// in canonical form. Values past the eighth are ignored.
func (b *Batch) End(key string, p []byte) {
	if b.len == maxValues {
		return
	}
	if b.big == nil && len(p) <= len(b.buf) && (len(p) == 0 || &p[0] == &b.buf[0]) {
		b.n = len(p)
	} else {
		// The values outgrew buf (rare: eight short values fit): keep a
		// copy of p, every value so far, so that b never holds a slice of
		// its own array (which would move it to the heap).
		b.big = append(make([]byte, 0, 2*len(p)), p...)
	}
	b.keys[b.len], b.ends[b.len] = key, len(p)
	b.len++
}

// AddInt adds v in decimal.
func (b *Batch) AddInt(key string, v int64) { b.End(key, strconv.AppendInt(b.Cur(), v, 10)) }

// AddTime adds t in layout.
func (b *Batch) AddTime(key string, t time.Time, layout string) {
	b.End(key, t.AppendFormat(b.Cur(), layout))
}

// Flush sets the values in h, replacing any there.
func (b *Batch) Flush(h http.Header) {
	if b.len == 0 {
		return
	}
	var all string
	if b.big != nil {
		all = string(b.big)
	} else {
		all = string(b.buf[:b.n])
	}
	vals := make([]string, b.len)
	start := 0
	for i := range b.len {
		vals[i] = all[start:b.ends[i]]
		start = b.ends[i]
		h[b.keys[i]] = vals[i : i+1 : i+1]
	}
}
