package ratelimit

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// resetOracle is how the reset values were written before appendReset:
// time.Duration.String of d rounded up to the millisecond.
func resetOracle(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if r := d % time.Millisecond; r != 0 && d <= math.MaxInt64-time.Millisecond {
		d += time.Millisecond - r
	}
	return d.String()
}

func TestAppendResetMatchesDurationString(t *testing.T) {
	for _, d := range []time.Duration{-1, 0, 1, time.Millisecond, 999 * time.Microsecond, 20 * time.Millisecond, time.Second - 1,
		time.Second, 1050 * time.Millisecond, 1005 * time.Millisecond, 1120 * time.Millisecond, 6 * time.Minute, 81600 * time.Millisecond,
		time.Hour, 25*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond, math.MaxInt64, math.MaxInt64 - time.Millisecond} {
		if got, want := string(appendReset(nil, d)), resetOracle(d); got != want {
			t.Errorf("appendReset(%d) = %q; want %q", int64(d), got, want)
		}
	}
}

func FuzzAppendReset(f *testing.F) {
	for _, s := range []int64{0, 1, 999_999, 1_000_000, 1_500_000_000, 3_600_000_000_000, math.MaxInt64} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		d := time.Duration(n)
		if got, want := string(appendReset([]byte("x"), d)), "x"+resetOracle(d); got != want {
			t.Fatalf("appendReset(%d) = %q; want %q", n, got, want)
		}
	})
}

// WriteHeaders allocates twice, whatever it writes: one string for every
// value and one slice for them all.
func TestWriteHeadersAllocs(t *testing.T) {
	h := http.Header{}
	d := Decision{
		Requests: Quota{Limit: 600, Remaining: 599, Reset: 1500 * time.Millisecond, RetryAfter: 3 * time.Second},
		Tokens:   Quota{Limit: 150_000, Remaining: -20, Reset: 6 * time.Minute},
	}
	WriteHeaders(h, d) // the map's buckets
	allocs := testing.AllocsPerRun(100, func() {
		clear(h)
		WriteHeaders(h, d)
	})
	if allocs > 2 {
		t.Errorf("WriteHeaders: %.0f allocations; want at most 2", allocs)
	}
	if got := h.Get("X-Ratelimit-Reset-Requests") + " " + h.Get("X-Ratelimit-Remaining-Tokens") + " " + h.Get("Retry-After"); got != "1.5s 0 3" {
		t.Errorf("values %q; want \"1.5s 0 3\"", got)
	}
}
