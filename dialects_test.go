package wicket_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/ratelimit"
)

// anthropicHeader is what an Anthropic client sends with key.
func anthropicHeader(key string) map[string]string {
	return map[string]string{"x-api-key": key, "anthropic-version": "2023-06-01"}
}

const messagesBody = `{"model":"fake-echo","max_tokens":32,"messages":[{"role":"user","content":"hello wicket"}]}`

// TestAnthropicDoorRefusals: refusals on the Anthropic front door come in
// Anthropic's shape, with the request ID in the body and in Request-Id,
// and rate-limit refusals carry Anthropic's rate-limit headers, not
// OpenAI's.
func TestAnthropicDoorRefusals(t *testing.T) {
	e := newEnv(t, single("fake-echo", fake.NewProvider(nil), ""), func(c *wicket.Config) {
		c.Limits = ratelimit.Limits{RequestsPerMinute: 1}
		c.Now = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
	})
	resp := e.do(t, "POST", "/v1/messages", messagesBody, anthropicHeader(e.key))
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("first call: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Anthropic-Ratelimit-Requests-Limit") != "1" || resp.Header.Get("X-Ratelimit-Limit-Requests") != "" {
		t.Errorf("admitted call's headers %v; want Anthropic's rate-limit headers only", resp.Header)
	}

	resp = e.do(t, "POST", "/v1/messages", messagesBody, anthropicHeader(e.key))
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second call: %d %s; want 429", resp.StatusCode, body)
	}
	h := resp.Header
	if h.Get("Anthropic-Ratelimit-Requests-Limit") != "1" || h.Get("Anthropic-Ratelimit-Requests-Remaining") != "0" {
		t.Errorf("429 headers %v; want anthropic-ratelimit-requests-limit 1, remaining 0", h)
	}
	if reset, err := time.Parse(time.RFC3339, h.Get("Anthropic-Ratelimit-Requests-Reset")); err != nil || !reset.After(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("anthropic-ratelimit-requests-reset %q; want an RFC 3339 time after the decision", h.Get("Anthropic-Ratelimit-Requests-Reset"))
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("retry-after %q; want whole seconds", h.Get("Retry-After"))
	}
	if h.Get("X-Ratelimit-Limit-Requests") != "" {
		t.Errorf("OpenAI's rate-limit headers on an Anthropic answer: %v", h)
	}
	var eb struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &eb); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if eb.Type != "error" || eb.Error.Type != "rate_limit_error" || eb.Error.Message == "" {
		t.Errorf("body %s; want Anthropic's rate_limit_error", body)
	}
	if eb.RequestID == "" || eb.RequestID != h.Get("Request-Id") || eb.RequestID != h.Get("X-Request-Id") {
		t.Errorf("request_id %q, Request-Id %q, X-Request-Id %q; want one ID in all three", eb.RequestID, h.Get("Request-Id"), h.Get("X-Request-Id"))
	}

	// A bad key, before any decoding, is refused in Anthropic's shape too.
	resp = e.do(t, "POST", "/v1/messages", messagesBody, anthropicHeader("wk_nope"))
	body = readAll(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"authentication_error"`) || !strings.Contains(body, `"request_id":"`) {
		t.Errorf("bad key: %d %s; want 401 authentication_error with request_id", resp.StatusCode, body)
	}
}

// TestCountTokens: a token count is answered by the upstream when it
// speaks the client's dialect, else from the gateway's estimate in the
// client's shape, and is free either way: a budgeted key spends nothing.
func TestCountTokens(t *testing.T) {
	countBody := `{"model":"fake-echo","messages":[{"role":"user","content":"hello wicket"}]}`
	var gotPath, gotModel string
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		gotPath = r.URL.Path
		var v struct{ Model string }
		_ = json.Unmarshal(body, &v)
		gotModel = v.Model
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"input_tokens":7}`))
	})
	anthropicUp, err := anthropic.New(&anthropic.Options{BaseURL: up.srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    providers.Provider
		want string
	}{
		// The estimate: ceil(len(body)/4) tokens.
		{"other dialect: estimated", fake.NewProvider(nil), `{"input_tokens":` + strconv.Itoa((len(countBody)+3)/4) + `}`},
		{"same dialect: the upstream's", anthropicUp, `{"input_tokens":7}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, []providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Provider: tc.p, Model: "upstream-echo"}}}}, nil)
			key, rec, err := e.km.Issue(t.Context(), keys.Spec{Owner: "bob", Budget: keys.Budget{LimitMicros: 1, Period: keys.PeriodTotal}})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 { // a budget of 1 µ$ would not cover one charged call
				resp := e.do(t, "POST", "/v1/messages/count_tokens", countBody, anthropicHeader(key))
				body := readAll(t, resp)
				if resp.StatusCode != 200 || strings.TrimSpace(body) != tc.want {
					t.Fatalf("count: %d %s; want 200 %s", resp.StatusCode, body, tc.want)
				}
				ev := <-e.outcome
				if ev.Usage != (metering.Usage{}) || ev.CostMicros != 0 || ev.KeyID != rec.ID {
					t.Errorf("event %+v; want the key's, with no usage and no cost", ev)
				}
			}
			if tc.p == anthropicUp && (gotPath != "/v1/messages/count_tokens" || gotModel != "upstream-echo") {
				t.Errorf("upstream got %s with model %q; want /v1/messages/count_tokens with upstream-echo", gotPath, gotModel)
			}
		})
	}
}
