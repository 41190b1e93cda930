package wicket_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAccessRecord: each request writes one access record at Info, with
// the allowlisted fields only: no content, no key.
func TestAccessRecord(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, single("fake-echo", fake.NewProvider(nil), ""), func(c *wicket.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const canary = "canary-prompt-7c1f"
	resp := e.post(t, "/v1/chat/completions", `{"model":"fake-echo","messages":[{"role":"user","content":"`+canary+`"}]}`)
	readAll(t, resp)
	<-e.outcome
	var records []map[string]any
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "wicket: request" {
			records = append(records, m)
		}
	}
	if len(records) != 1 {
		t.Fatalf("%d access records; want 1:\n%s", len(records), logs.String())
	}
	r := records[0]
	var keys []string
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"attempts", "deployment", "endpoint", "error_class", "input_tokens", "key_hint", "key_id", "latency", "level", "model",
		"msg", "output_tokens", "provider", "request_id", "status", "time", "usage_estimated"}
	if !slices.Equal(keys, want) {
		t.Errorf("fields %v; want %v", keys, want)
	}
	if r["request_id"] != resp.Header.Get("X-Request-Id") || r["key_id"] != e.rec.ID || r["key_hint"] != e.rec.Hint ||
		r["model"] != "fake-echo" || r["status"] != float64(200) || r["output_tokens"] != float64(1) {
		t.Errorf("record %v", r)
	}
	if l := logs.String(); strings.Contains(l, canary) || strings.Contains(l, e.key) {
		t.Errorf("the log holds the prompt or the key:\n%s", l)
	}
}

// TestLoggerIsRedacted: the gateway wraps Config.Logger in the redacting
// handler: a key-shaped value in a record (here an operator's deployment
// name that holds an upstream key by mistake) is masked.
func TestLoggerIsRedacted(t *testing.T) {
	var logs syncBuffer
	const leaked = "sk-proj-Zx8Kq2Lm5Nb7Vc9Xd1Fg3Hj4Kl6"
	e := newEnv(t, []providers.Model{{Name: "fake-echo", Deployments: []providers.Deployment{{Name: leaked, Provider: fake.NewProvider(nil)}}}}, func(c *wicket.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	resp := e.post(t, "/v1/chat/completions", `{"model":"fake-echo","messages":[{"role":"user","content":"hi"}]}`)
	readAll(t, resp)
	<-e.outcome
	l := logs.String()
	if !strings.Contains(l, `"msg":"wicket: request"`) || strings.Contains(l, leaked) {
		t.Errorf("the access record does not mask the key-shaped deployment name:\n%s", l)
	}
}
