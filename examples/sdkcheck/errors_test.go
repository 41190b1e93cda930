package sdkcheck_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	openaisdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/ratelimit"
)

// chat makes the usual fake-echo call with model.
func chat(ctx context.Context, c openaisdk.Client, model string, opts ...option.RequestOption) (*openaisdk.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openaisdk.ChatCompletionNewParams{
		Model:    model,
		Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("hello wicket")},
	}, opts...)
}

// wantError is what an *openai.Error must hold.
type wantError struct {
	status           int
	typ, code, param string
}

func checkError(t *testing.T, err error, want wantError) *openaisdk.Error {
	t.Helper()
	apiErr := apiError(t, err)
	if apiErr.StatusCode != want.status || apiErr.Type != want.typ || apiErr.Code != want.code || apiErr.Param != want.param {
		t.Errorf("got %d type %q code %q param %q; want %d type %q code %q param %q (body %s)",
			apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Param, want.status, want.typ, want.code, want.param, apiErr.RawJSON())
	}
	if apiErr.Message == "" {
		t.Errorf("got an empty message (body %s)", apiErr.RawJSON())
	}
	return apiErr
}

// TestErrors checks that the gateway's refusals decode into the SDK's
// *openai.Error with the status, type, code and param that OpenAI itself
// would send.
func TestErrors(t *testing.T) {
	h := newHarness(t, options{})
	key := h.issue(t, keys.Spec{})
	scoped := h.issue(t, keys.Spec{Scopes: keys.Scopes{Models: []string{"fake-embed"}}})

	// A well-formed key with a valid checksum that this gateway never
	// issued: from another manager with another pepper.
	otherHasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: []byte(strings.Repeat("o", keys.MinSecretLen))})
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.NewManager(keys.NewMemoryStore(), otherHasher, nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(t.Context(), keys.Spec{Owner: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}

	badKey := wantError{status: http.StatusUnauthorized, typ: "invalid_request_error", code: "invalid_api_key"}
	notFound := wantError{status: http.StatusNotFound, typ: "invalid_request_error", code: "model_not_found", param: "model"}
	cases := []struct {
		name string
		key  string
		call func(context.Context, openaisdk.Client) error
		want wantError
	}{
		{"malformed key", "wk_not-a-real-key", chatEcho, badKey},
		{"well-formed unknown key", foreign, chatEcho, badKey},
		{"bad key on the model list", "wk_not-a-real-key", func(ctx context.Context, c openaisdk.Client) error {
			_, err := c.Models.List(ctx)
			return err
		}, badKey},
		{"unknown model", key, func(ctx context.Context, c openaisdk.Client) error {
			_, err := chat(ctx, c, "no-such-model")
			return err
		}, notFound},
		{"unknown model, streamed", key, func(ctx context.Context, c openaisdk.Client) error {
			s := c.Chat.Completions.NewStreaming(ctx, openaisdk.ChatCompletionNewParams{
				Model:    "no-such-model",
				Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("hello wicket")},
			})
			defer s.Close()
			if s.Next() {
				t.Errorf("got a chunk from a refused stream: %s", s.Current().RawJSON())
			}
			return s.Err()
		}, notFound},
		{"unknown embedding model", key, func(ctx context.Context, c openaisdk.Client) error {
			_, err := c.Embeddings.New(ctx, openaisdk.EmbeddingNewParams{
				Model: "no-such-model",
				Input: openaisdk.EmbeddingNewParamsInputUnion{OfString: openaisdk.String("hello wicket")},
			})
			return err
		}, notFound},
		{"model outside the key's scopes", scoped, chatEcho,
			wantError{status: http.StatusForbidden, typ: "permission_error", code: "model_not_allowed", param: "model"}},
		{"invalid JSON body", key, func(ctx context.Context, c openaisdk.Client) error {
			var out map[string]any
			return c.Post(ctx, "chat/completions", []byte(`{"model":"fake-echo","messages":[`), &out)
		}, wantError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "invalid_json"}},
		{"model of the wrong type", key, func(ctx context.Context, c openaisdk.Client) error {
			_, err := chat(ctx, c, "fake-echo", option.WithRequestBody("application/json",
				[]byte(`{"model":42,"messages":[{"role":"user","content":"hello wicket"}]}`)))
			return err
		}, wantError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "invalid_type", param: "model"}},
		{"missing model", key, func(ctx context.Context, c openaisdk.Client) error {
			_, err := chat(ctx, c, "fake-echo", option.WithJSONDel("model"))
			return err
		}, wantError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "missing_required_parameter", param: "model"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, tc.call(t.Context(), h.client(tc.key, noRetries)), tc.want)
		})
	}
}

func chatEcho(ctx context.Context, c openaisdk.Client) error {
	_, err := chat(ctx, c, "fake-echo")
	return err
}

// TestRateLimit checks that a key over its requests-per-minute limit gets
// a 429 that the SDK decodes, with the retry-after and x-ratelimit-*
// headers that OpenAI sends.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, options{limits: ratelimit.Limits{RequestsPerMinute: 1}})
	client := h.client(h.issue(t, keys.Spec{}), noRetries)

	var first *http.Response
	if _, err := chat(t.Context(), client, "fake-echo", option.WithResponseInto(&first)); err != nil {
		t.Fatalf("first call: %v", err)
	}
	checkLimitHeaders(t, "admitted", first.Header, "0")

	var second *http.Response
	_, err := chat(t.Context(), client, "fake-echo", option.WithResponseInto(&second))
	apiErr := checkError(t, err, wantError{status: http.StatusTooManyRequests, typ: "requests", code: "rate_limit_exceeded"})
	if second == nil || apiErr.Response == nil {
		t.Fatalf("got response %v and error response %v; want both", second, apiErr.Response)
	}
	if second.StatusCode != http.StatusTooManyRequests {
		t.Errorf("WithResponseInto got status %d; want 429", second.StatusCode)
	}
	for name, hdr := range map[string]http.Header{"WithResponseInto": second.Header, "Error.Response": apiErr.Response.Header} {
		ra, err := strconv.Atoi(hdr.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 {
			t.Errorf("%s: got retry-after %q; want whole seconds in [1, 60]", name, hdr.Get("Retry-After"))
		}
		checkLimitHeaders(t, name, hdr, "0")
	}
	if got := h.upstream.Load(); got != 1 {
		t.Errorf("upstream saw %d requests; want 1 (the refused call is not forwarded)", got)
	}
}

// checkLimitHeaders checks the x-ratelimit-*-requests headers of a key
// limited to one request per minute.
func checkLimitHeaders(t *testing.T, name string, hdr http.Header, remaining string) {
	t.Helper()
	if got := hdr.Get("X-Ratelimit-Limit-Requests"); got != "1" {
		t.Errorf("%s: got x-ratelimit-limit-requests %q; want 1", name, got)
	}
	if got := hdr.Get("X-Ratelimit-Remaining-Requests"); got != remaining {
		t.Errorf("%s: got x-ratelimit-remaining-requests %q; want %s", name, got, remaining)
	}
	if d, err := time.ParseDuration(hdr.Get("X-Ratelimit-Reset-Requests")); err != nil || d <= 0 || d > time.Minute {
		t.Errorf("%s: got x-ratelimit-reset-requests %q; want a duration in (0, 1m]", name, hdr.Get("X-Ratelimit-Reset-Requests"))
	}
}

// TestBudget checks that a key whose budget cannot cover a call gets the
// 429 insufficient_quota that OpenAI sends when credit runs out, and that
// the SDK, with its retries on, does not retry it (x-should-retry: false).
func TestBudget(t *testing.T) {
	prices := metering.DefaultPrices()
	if err := prices.Set("fake-echo", metering.Price{Rates: metering.Rates{Input: 1_000_000, Output: 2_000_000}}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	h := newHarness(t, options{prices: prices})
	// A total budget has no reset time, so no retry-after: only
	// x-should-retry can keep the SDK from retrying.
	key := h.issue(t, keys.Spec{Budget: keys.Budget{LimitMicros: 1, Period: keys.PeriodTotal}})
	client := h.client(key, option.WithMaxRetries(2))

	_, err := chat(t.Context(), client, "fake-echo")
	apiErr := checkError(t, err, wantError{status: http.StatusTooManyRequests, typ: "insufficient_quota", code: "insufficient_quota"})
	if got := apiErr.Response.Header.Get("X-Should-Retry"); got != "false" {
		t.Errorf("got x-should-retry %q; want false", got)
	}
	if got := h.gatewayRequests(); len(got) != 1 {
		t.Errorf("gateway saw %d requests (retry counts %q); want 1: the SDK must not retry", len(got), got)
	}
	if got := h.upstream.Load(); got != 0 {
		t.Errorf("upstream saw %d requests; want 0", got)
	}

	// An unbudgeted key may still call the priced model.
	if _, err := chat(t.Context(), h.client(h.issue(t, keys.Spec{}), noRetries), "fake-echo"); err != nil {
		t.Errorf("call without a budget: %v", err)
	}
}
