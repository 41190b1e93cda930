package wicket_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/providers"
)

// reasonsProvider is an application's own Provider whose answers report
// whatever finish reasons it is given.
type reasonsProvider struct{ reasons []string }

func (p *reasonsProvider) Name() string               { return "own" }
func (p *reasonsProvider) Dialect() providers.Dialect { return providers.DialectOpenAI }
func (p *reasonsProvider) Send(context.Context, *providers.Call) (providers.Response, error) {
	return &reasonsResponse{p.reasons}, nil
}

type reasonsResponse struct{ reasons []string }

func (r *reasonsResponse) StatusCode() int { return 200 }
func (r *reasonsResponse) Header() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}
func (r *reasonsResponse) Close() error { return nil }
func (r *reasonsResponse) Relay(w http.ResponseWriter) (providers.Result, error) {
	n, err := io.WriteString(w, completionFixture)
	return providers.Result{BytesWritten: int64(n), FinishReasons: r.reasons}, err
}

// TestFinishReasonsAreIdentifiers: whatever a Provider reports, an event
// keeps only identifier-like finish reasons, at most eight: text cannot
// reach it this way.
func TestFinishReasonsAreIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want []string
	}{
		{"kept", []string{"stop", "length"}, []string{"stop", "length"}},
		{"text dropped", []string{"stop", "my secret prompt", strings.Repeat("x", 65), "tool_calls"}, []string{"stop", "tool_calls"}},
		{"bounded", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, single("m", &reasonsProvider{tc.got}, ""), nil)
			resp := e.post(t, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if body := readAll(t, resp); resp.StatusCode != 200 {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
			if ev := <-e.outcome; !slices.Equal(ev.FinishReasons, tc.want) {
				t.Errorf("event finish reasons %q; want %q", ev.FinishReasons, tc.want)
			}
		})
	}
}
