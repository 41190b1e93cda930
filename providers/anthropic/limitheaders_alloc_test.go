package anthropic

import (
	"net/http"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/providers"
)

// Anthropic's rate-limit headers take two allocations, whatever they hold.
func TestWriteLimitHeadersAllocs(t *testing.T) {
	h := http.Header{}
	l := providers.RateLimits{
		Now:        time.Date(2026, 11, 30, 3, 4, 5, 600, time.UTC),
		RetryAfter: 1500 * time.Millisecond,
		Requests:   providers.Quota{Limit: 600, Remaining: 599, Reset: 1500 * time.Millisecond},
		Tokens:     providers.Quota{Limit: 150_000, Remaining: -20, Reset: 6 * time.Minute},
	}
	FrontDoor{}.WriteLimitHeaders(h, l)
	if got := h.Get("Anthropic-Ratelimit-Requests-Reset") + " " + h.Get("Anthropic-Ratelimit-Tokens-Remaining") + " " + h.Get("Retry-After"); got != "2026-11-30T03:04:07Z 0 2" {
		t.Errorf("values %q", got)
	}
	n := testing.AllocsPerRun(100, func() {
		clear(h)
		FrontDoor{}.WriteLimitHeaders(h, l)
	})
	if n > 2 {
		t.Errorf("%v allocations; want at most 2", n)
	}
}
