package providers

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		ms, secs string
		want     time.Duration
	}{
		{"", "", 0},
		{"", "3", 3 * time.Second},
		{"1500", "3", 1500 * time.Millisecond},
		{"12.5", "", 12500 * time.Microsecond},
		{"soon", "2", 2 * time.Second},
		{"-5", "", 0},
		{"", "0", 0},
		{"", "-1", 0},
		{"", "soon", 0},
		{"", "Sun, 29 Nov 2026 12:00:10 GMT", 10 * time.Second},
		{"", "Sun, 29 Nov 2026 11:59:00 GMT", 0},
		{"", "99999999999999", 24 * time.Hour},
		{"1e300", "", 24 * time.Hour},
		{"+Inf", "", 0},
		{"NaN", "", 0},
	} {
		h := http.Header{}
		if tc.ms != "" {
			h.Set("retry-after-ms", tc.ms)
		}
		if tc.secs != "" {
			h.Set("retry-after", tc.secs)
		}
		if got := ParseRetryAfter(h, now); got != tc.want {
			t.Errorf("retry-after-ms %q, retry-after %q: %v; want %v", tc.ms, tc.secs, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("1500", "3")
	f.Add("", "Sun, 29 Nov 2026 12:00:10 GMT")
	f.Fuzz(func(t *testing.T, ms, secs string) {
		h := http.Header{"Retry-After-Ms": {ms}, "Retry-After": {secs}}
		if d := ParseRetryAfter(h, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)); d < 0 || d > 24*time.Hour {
			t.Fatalf("ParseRetryAfter(%q, %q) = %v; want 0 to a day", ms, secs, d)
		}
	})
}
