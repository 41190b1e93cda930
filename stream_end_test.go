package wicket_test

import (
	"bufio"
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
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

// TestStreamEndBeforeRemoteSettlement: when ending a request waits on
// another process (a shared ledger, a shared limiter), the end of a
// streamed answer reaches the client before that wait, not after it.
func TestStreamEndBeforeRemoteSettlement(t *testing.T) {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := openai.New(&openai.Options{BaseURL: up.URL + "/v1"})
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			e := newEnv(t, single("fake-echo", p, ""), func(c *wicket.Config) {
				c.Prices = perOutputToken(t)
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
				t.Error("the stream's end reached the client only after the request's settlement")
			}
			if o := <-e.outcome; o.Status != 200 || o.ErrorClass != "" || o.Usage.OutputTokens == 0 {
				t.Errorf("event %+v; want a success with its usage", o)
			}
		})
	}
}
