package wicket_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
)

// dialectCall is how a client of one dialect asks the fake model for an
// answer, whole or streamed.
type dialectCall struct {
	path, body, streamPath, streamBody string
	header                             func(key string) map[string]string
	// eventMark counts streamed events in what the client received.
	eventMark string
}

var dialectCalls = map[providers.Dialect]dialectCall{
	providers.DialectOpenAI: {
		path: "/v1/chat/completions", streamPath: "/v1/chat/completions",
		body:       `{"model":"fake-echo","max_tokens":64,"messages":[{"role":"user","content":"one two three"}]}`,
		streamBody: `{"model":"fake-echo","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`,
		header:     func(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} },
		eventMark:  "data: ",
	},
	providers.DialectAnthropic: {
		path: "/v1/messages", streamPath: "/v1/messages",
		body:       `{"model":"fake-echo","max_tokens":64,"messages":[{"role":"user","content":"one two three"}]}`,
		streamBody: `{"model":"fake-echo","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"one two three"}]}`,
		header:     anthropicHeader,
		eventMark:  "event: content_block_delta",
	},
	providers.DialectGemini: {
		path: "/v1beta/models/fake-echo:generateContent", streamPath: "/v1beta/models/fake-echo:streamGenerateContent?alt=sse",
		body:       `{"contents":[{"role":"user","parts":[{"text":"one two three"}]}],"generationConfig":{"maxOutputTokens":64}}`,
		streamBody: `{"contents":[{"role":"user","parts":[{"text":"one two three"}]}],"generationConfig":{"maxOutputTokens":64}}`,
		header:     func(key string) map[string]string { return map[string]string{"x-goog-api-key": key} },
		eventMark:  "data: ",
	},
}

// finishWord is how each dialect says a model stopped by itself.
var finishWord = map[providers.Dialect]string{providers.DialectOpenAI: "stop", providers.DialectAnthropic: "end_turn", providers.DialectGemini: "STOP"}

var allDialects = []providers.Dialect{providers.DialectOpenAI, providers.DialectAnthropic, providers.DialectGemini}

// TestMeteringEveryDialect: metering works the same through every front
// door and from every upstream dialect: one event per request with the
// exact usage of the upstream's answer, whole or streamed (read from each
// dialect's own stream), costed, with the upstream's finish reason; and a client that leaves mid-stream gets
// one event with an estimate.
func TestMeteringEveryDialect(t *testing.T) {
	// The fake's usage for "one two three", whatever the dialect: its
	// prompt tokens and one output token per word.
	exact := metering.Usage{InputTokens: fake.PromptTokens(len("one two three")), OutputTokens: 3}
	for _, door := range allDialects {
		for _, upstream := range allDialects {
			t.Run(door.String()+"→"+upstream.String(), func(t *testing.T) {
				t.Parallel()
				c := dialectCalls[door]
				e := newEnv(t, single("fake-echo", fake.NewDialectProvider(upstream, nil), ""), nil)
				for _, streamed := range []bool{false, true} {
					path, body := c.path, c.body
					if streamed {
						path, body = c.streamPath, c.streamBody
					}
					resp := e.do(t, "POST", path, body, c.header(e.key))
					got := readAll(t, resp)
					if resp.StatusCode != 200 || !strings.Contains(got, "three") {
						t.Fatalf("streamed=%v: %d %s", streamed, resp.StatusCode, got)
					}
					ev := <-e.outcome
					if ev.Usage != exact || ev.UsageEstimated || ev.Stream != streamed || ev.Status != 200 {
						t.Errorf("streamed=%v: event usage %+v estimated %v stream %v status %d; want the exact %+v", streamed, ev.Usage, ev.UsageEstimated, ev.Stream, ev.Status, exact)
					}
					if want, _ := metering.DefaultPrices().Cost("fake-echo", exact); ev.CostMicros != want || want == 0 {
						t.Errorf("streamed=%v: cost %d µ$; want %d", streamed, ev.CostMicros, want)
					}
					// The upstream's own words for why it stopped, whatever
					// the door.
					if want := finishWord[upstream]; !slices.Equal(ev.FinishReasons, []string{want}) {
						t.Errorf("streamed=%v: finish reasons %q; want [%q]", streamed, ev.FinishReasons, want)
					}
				}
				select {
				case ev := <-e.outcome:
					t.Errorf("an extra event: %+v", ev)
				default:
				}

				// A client that leaves after two streamed events.
				slow := newEnv(t, single("fake-echo", fake.NewDialectProvider(upstream, &fake.Options{Chunks: 50, ChunkDelay: 5 * time.Millisecond}), ""), nil)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "POST", slow.srv.URL+c.streamPath, strings.NewReader(c.streamBody))
				for k, v := range c.header(slow.key) {
					req.Header.Set(k, v)
				}
				resp, err := slow.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var buf []byte
				tmp := make([]byte, 512)
				for bytes.Count(buf, []byte(c.eventMark)) < 3 {
					n, err := resp.Body.Read(tmp)
					buf = append(buf, tmp[:n]...)
					if err == io.EOF || err != nil {
						t.Fatalf("stream ended early: %v %s", err, buf)
					}
				}
				cancel()
				resp.Body.Close()
				ev := <-slow.outcome
				if !ev.UsageEstimated || ev.Usage.OutputTokens < 1 || ev.Usage.OutputTokens >= 50 || ev.ErrorClass != metering.ClassClientDisconnect {
					t.Errorf("disconnected: usage %+v estimated %v class %q; want an estimate of what was sent, client_disconnect", ev.Usage, ev.UsageEstimated, ev.ErrorClass)
				}
				select {
				case ev := <-slow.outcome:
					t.Errorf("an extra event after the disconnect: %+v", ev)
				case <-time.After(20 * time.Millisecond):
				}
			})
		}
	}
}
