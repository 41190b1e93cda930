package sdkcheck_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/ratelimit"
)

// TestSDKRetries documents what happens when the upstream fails and the
// SDK's retries are on (the default, MaxRetries 2): the gateway makes up
// to the Router's MaxAttempts attempts per request (pausing
// Config.RetryBackoff between rounds), relays the last upstream error, and
// the SDK, seeing a retryable status, sends the request twice more (with
// X-Stainless-Retry-Count 1 and 2). Upstream attempts multiply: SDK
// attempts × gateway attempts.
//
// The upstream's own retry-after (the fake's 429 sends "1") does not reach
// the client: the gateway relays no upstream rate-limit header, as those
// describe the gateway's upstream account, not the caller's. So the SDK
// backs off on its own schedule; option.WithMaxRetryDelay caps it here to
// keep the test fast (the SDK's default waits about 0.5s, then 1s).
func TestSDKRetries(t *testing.T) {
	cases := []struct {
		name         string
		model        string
		maxAttempts  int // Router MaxAttempts; 0 means its default of 3
		wantStatus   int
		wantType     string
		wantCode     string
		wantUpstream int64
	}{
		{"503 with gateway retries", "fake-error-503", 0, http.StatusServiceUnavailable, "server_error", "", 3 * 3},
		{"503 with one gateway attempt", "fake-error-503", 1, http.StatusServiceUnavailable, "server_error", "", 3 * 1},
		{"500 with one gateway attempt", "fake-error-500", 1, http.StatusInternalServerError, "server_error", "", 3 * 1},
		{"upstream 429 with gateway retries", "fake-error-429", 0, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", 3 * 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, options{maxAttempts: tc.maxAttempts})
			client := h.client(h.issue(t, keys.Spec{}),
				option.WithMaxRetries(2), option.WithMaxRetryDelay(10*time.Millisecond))

			_, err := chat(t.Context(), client, tc.model)
			apiErr := apiError(t, err)
			if apiErr.StatusCode != tc.wantStatus || apiErr.Type != tc.wantType || apiErr.Code != tc.wantCode {
				t.Errorf("got %d type %q code %q; want the upstream's %d type %q code %q (body %s)",
					apiErr.StatusCode, apiErr.Type, apiErr.Code, tc.wantStatus, tc.wantType, tc.wantCode, apiErr.RawJSON())
			}
			if got, want := h.gatewayRequests(), []string{"0", "1", "2"}; !slices.Equal(got, want) {
				t.Errorf("gateway saw X-Stainless-Retry-Count %q; want %q", got, want)
			}
			if got := h.upstream.Load(); got != tc.wantUpstream {
				t.Errorf("upstream saw %d attempts; want %d", got, tc.wantUpstream)
			}
			if got := apiErr.Response.Header.Get("Retry-After"); got != "" {
				t.Errorf("got retry-after %q on a relayed upstream error; want none (upstream rate-limit headers are not relayed)", got)
			}
		})
	}
}

// TestSDKHonorsGatewayRetryAfter checks that the SDK reads the gateway's
// own retry-after: refused by a one-request-per-minute limit, it would
// have to wait about a minute, more than the maximum delay it is allowed
// here, so it returns the 429 at once instead of retrying. (With the SDK's
// default maximum of two minutes it would sleep out the retry-after.)
func TestSDKHonorsGatewayRetryAfter(t *testing.T) {
	h := newHarness(t, options{limits: ratelimit.Limits{RequestsPerMinute: 1}})
	// Without the retry-after, a one-second cap would let the SDK retry
	// twice after 0.5s and 1s of backoff.
	client := h.client(h.issue(t, keys.Spec{}), option.WithMaxRetries(2), option.WithMaxRetryDelay(time.Second))
	if _, err := chat(t.Context(), client, "fake-echo"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	start := time.Now()
	_, err := chat(t.Context(), client, "fake-echo")
	elapsed := time.Since(start)
	apiErr := checkError(t, err, wantError{status: http.StatusTooManyRequests, typ: "requests", code: "rate_limit_exceeded"})
	if apiErr.Response.Header.Get("Retry-After") == "" {
		t.Errorf("got no retry-after on the gateway's 429")
	}
	if got, want := h.gatewayRequests(), []string{"0", "0"}; !slices.Equal(got, want) {
		t.Errorf("gateway saw X-Stainless-Retry-Count %q; want %q (no retry of the refused call)", got, want)
	}
	if elapsed > 500*time.Millisecond {
		t.Errorf("the refused call took %v; want an immediate answer", elapsed)
	}
}
