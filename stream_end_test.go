package wicket_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
)

// gate holds back the end of a request's settlement until the client has
// read the end of its stream, or a few seconds have passed.
type gate struct {
	open    chan struct{}
	timeout atomic.Bool // the settlement gave up waiting
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) wait() {
	select {
	case <-g.open:
	case <-time.After(3 * time.Second):
		g.timeout.Store(true)
	}
}

// gatedLedger is a ledger of another process, as the gateway sees it:
// settling waits for the gate.
type gatedLedger struct {
	*metering.MemoryLedger
	g *gate
}

func (l gatedLedger) Settle(ctx context.Context, id string, cost int64) error {
	l.g.wait()
	return l.MemoryLedger.Settle(ctx, id, cost)
}

// gatedBackend is a limiter backend of another process: releasing a
// concurrency slot waits for the gate.
type gatedBackend struct {
	*ratelimit.Memory
	g *gate
}

func (b gatedBackend) Release(ctx context.Context, subject string) error {
	b.g.wait()
	return b.Memory.Release(ctx, subject)
}

// blockingHandler is a slog handler at Info whose Handle waits for the
// gate, as a log shipped to a slow pipe would.
type blockingHandler struct{ g *gate }

func (h blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h blockingHandler) Handle(context.Context, slog.Record) error {
	h.g.wait()
	return nil
}
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h blockingHandler) WithGroup(string) slog.Handler      { return h }

// TestStreamEndBeforeSlowFinish: when ending a request may wait (a shared
// ledger or limiter, the application's OnEvent, an access log), the end of
// a streamed answer reaches the client before that wait, not after it.
func TestStreamEndBeforeSlowFinish(t *testing.T) {
	up := httptest.NewServer(fake.Handler(&fake.Options{Chunks: 20}))
	defer up.Close()
	for _, tc := range []struct {
		name  string
		tweak func(*testing.T, *wicket.Config, *gate)
	}{
		{"shared ledger", func(t *testing.T, c *wicket.Config, g *gate) {
			ml, err := metering.NewMemoryLedger(nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Ledger = gatedLedger{ml, g}
		}},
		{"shared limiter", func(t *testing.T, c *wicket.Config, g *gate) {
			m, err := ratelimit.NewMemory(nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Limiter, err = ratelimit.New(&ratelimit.Options{Backend: gatedBackend{m, g}}); err != nil {
				t.Fatal(err)
			}
			c.Limits = ratelimit.Limits{MaxConcurrent: 4}
		}},
		{"OnEvent", func(t *testing.T, c *wicket.Config, g *gate) {
			c.OnEvent = func(context.Context, metering.Event) { g.wait() }
		}},
		{"access log", func(t *testing.T, c *wicket.Config, g *gate) {
			c.Logger = slog.New(blockingHandler{g})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := openai.New(&openai.Options{BaseURL: up.URL + "/v1"})
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			e := newEnv(t, single("fake-echo", p, ""), func(c *wicket.Config) {
				c.Prices = perOutputToken(t)
				c.OnEvent = nil // only the case's own cause may wait
				tc.tweak(t, c, g)
			})
			key, _, err := e.km.Issue(t.Context(), keys.Spec{Owner: "carol", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodTotal}})
			if err != nil {
				t.Fatal(err)
			}
			resp := e.do(t, "POST", "/v1/chat/completions", `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"one two"}]}`,
				map[string]string{"Authorization": "Bearer " + key})
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			sc := bufio.NewScanner(resp.Body)
			var done bool
			for !done && sc.Scan() {
				done = sc.Text() == "data: [DONE]"
			}
			close(g.open)
			if !done {
				t.Fatalf("no [DONE]: %v", sc.Err())
			}
			if g.timeout.Load() {
				t.Error("the stream's end reached the client only after the request's end had waited")
			}
		})
	}
}

// oneEvent is a provider whose answer is a one-event stream, which its
// Relay writes and does not flush: as the dialects' relays leave a
// complete stream's end.
type oneEvent struct{}

func (oneEvent) Name() string               { return "one-event" }
func (oneEvent) Dialect() providers.Dialect { return providers.DialectOpenAI }
func (oneEvent) Send(context.Context, *providers.Call) (providers.Response, error) {
	return oneEventAnswer{}, nil
}

type oneEventAnswer struct{}

func (oneEventAnswer) StatusCode() int { return 200 }
func (oneEventAnswer) Header() http.Header {
	return http.Header{"Content-Type": {"text/event-stream"}}
}
func (oneEventAnswer) Close() error { return nil }
func (oneEventAnswer) Relay(w http.ResponseWriter) (providers.Result, error) {
	n, err := io.WriteString(w, "data: [DONE]\n\n")
	return providers.Result{Events: 1, BytesWritten: int64(n), FirstByte: time.Now()}, err
}

// TestAnswerEndLeftToResponse: the gateway flushes the end of a stream
// itself only when what ends the request may wait (here OnEvent); else it
// leaves with the end of the response, in one write with it. A whole
// answer's end always does: once a client has it, the request is settled
// and metered.
func TestAnswerEndLeftToResponse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		model   string
		onEvent bool
		flushed bool
	}{
		{"stream, nothing waits", "stream", false, false},
		{"stream, OnEvent", "stream", true, true},
		{"whole answer, OnEvent", "ok", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			models := append(scriptedModels(&scripted{}), providers.Model{Name: "stream", Deployments: []providers.Deployment{{Provider: oneEvent{}}}})
			e := newEnv(t, models, func(c *wicket.Config) {
				c.Prices = perOutputToken(t)
				if !tc.onEvent {
					c.OnEvent = nil
				}
			})
			body := `{"model":"` + tc.model + `","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`
			r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+e.key)
			w := httptest.NewRecorder()
			e.gw.ServeHTTP(w, r)
			if w.Code != 200 || w.Body.Len() == 0 {
				t.Fatalf("status %d, body %q", w.Code, w.Body)
			}
			if w.Flushed != tc.flushed {
				t.Errorf("flushed by the gateway: %v; want %v", w.Flushed, tc.flushed)
			}
		})
	}
}
