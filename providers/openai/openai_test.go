package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

func call(t *testing.T, endpoint providers.Endpoint, body, upstreamModel string) *providers.Call {
	t.Helper()
	req, perr := Decode(endpoint, []byte(body))
	if perr != nil {
		t.Fatalf("Decode(%s): %v", body, perr)
	}
	return &providers.Call{Request: req, UpstreamModel: upstreamModel}
}

func TestUpstreamBody(t *testing.T) {
	for _, tc := range []struct {
		name, body, upstream, want string
		injected                   bool
	}{
		{"unchanged", `{"model":"m","messages":[]}`, "m", `{"model":"m","messages":[]}`, false},
		{"alias rewritten", `{"model":"alias","messages":[]}`, "real-1", `{"model":"real-1","messages":[]}`, false},
		{"odd upstream name quoted", `{"model":"a"}`, `we"ird\`, `{"model":"we\"ird\\"}`, false},
		{"stream adds options", `{"model":"m","stream":true}`, "m", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true},
		{"stream options false flipped", `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, "m", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true},
		{"stream options without usage", `{"model":"m","stream":true,"stream_options":{"x":1}}`, "m", `{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true}}`, true},
		{"stream options null", `{"model":"m","stream":true,"stream_options":null}`, "m", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true},
		{"client asked already", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, "m", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, false},
		{"alias and stream", `{ "stream" : true , "model" : "a" }`, "b", `{ "stream" : true , "model" : "b" ,"stream_options":{"include_usage":true}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, injected := upstreamBody(call(t, providers.EndpointChat, tc.body, tc.upstream), "max_completion_tokens")
			if string(got) != tc.want || injected != tc.injected {
				t.Errorf("got %s (injected %v); want %s (%v)", got, injected, tc.want, tc.injected)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON: %s", got)
			}
		})
	}
	// Responses calls never get stream_options.
	got, injected := upstreamBody(call(t, providers.EndpointResponses, `{"model":"m","stream":true}`, "m"), "max_completion_tokens")
	if string(got) != `{"model":"m","stream":true}` || injected {
		t.Errorf("responses: %s %v", got, injected)
	}
}

func TestParseUsage(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     metering.Usage
		ok       bool
	}{
		{"chat", `{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14}`, metering.Usage{InputTokens: 10, OutputTokens: 4}, true},
		{"chat details", `{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":6,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}}`,
			metering.Usage{InputTokens: 10, OutputTokens: 4, CachedInputTokens: 6, ReasoningTokens: 3}, true},
		{"responses", `{"input_tokens":7,"input_tokens_details":{"cached_tokens":2},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":16}`,
			metering.Usage{InputTokens: 7, OutputTokens: 9, CachedInputTokens: 2, ReasoningTokens: 5}, true},
		{"embeddings", `{"prompt_tokens":8,"total_tokens":8}`, metering.Usage{InputTokens: 8}, true},
		{"details null", `{"prompt_tokens":1,"completion_tokens":1,"prompt_tokens_details":null}`, metering.Usage{InputTokens: 1, OutputTokens: 1}, true},
		{"empty", `{}`, metering.Usage{}, false},
		{"negative ignored", `{"prompt_tokens":-5}`, metering.Usage{}, false},
		{"not an object", `[1]`, metering.Usage{}, false},
		// A broken object yields nothing, not the counts before the fault.
		{"bad number after a count", `{"input_tokens":1A}`, metering.Usage{}, false},
		{"cut after a count", `{"prompt_tokens":10,"completion_tokens":4`, metering.Usage{}, false},
		{"bad member after counts", `{"prompt_tokens":10,"completion_tokens":4,"x":tru}`, metering.Usage{}, false},
		{"bad array after counts", `{"prompt_tokens":10,"completion_tokens":4,"x":[1 2]}`, metering.Usage{}, false},
		{"bad number in details", `{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":1.2.3}}`, metering.Usage{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseUsage([]byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestUsageFromTail(t *testing.T) {
	// A large embeddings answer: the usage sits past the kept window's start.
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[`)
	for i := range 3000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3,0.4,0.5]}`)
	}
	b.WriteString(`],"model":"e","usage":{"prompt_tokens":4242,"total_tokens":4242}}`)
	body := b.String()
	var tail uplink.Tail
	for i := 0; i < len(body); i += 1000 {
		tail.Write([]byte(body[i:min(i+1000, len(body))]))
	}
	if tail.Whole() || len(tail.Bytes()) > 2*uplink.TailSize {
		t.Fatalf("tail kept %d bytes (whole %v) of %d", len(tail.Bytes()), tail.Whole(), len(body))
	}
	u, ok := usageFromTail(tail.Bytes(), tail.Whole())
	if !ok || u.InputTokens != 4242 {
		t.Errorf("usage %+v, %v; want 4242 input tokens", u, ok)
	}
	// A content string that mentions usage does not fool it: quotes inside
	// JSON strings are escaped.
	small := `{"choices":[{"message":{"content":"the \"usage\": {\"prompt_tokens\": 999}"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`
	u, ok = usageFromTail([]byte(small), true)
	if !ok || u != (metering.Usage{InputTokens: 3, OutputTokens: 1}) {
		t.Errorf("small body usage %+v, %v", u, ok)
	}
	u, ok = usageFromTail([]byte(small[20:]), false)
	if !ok || u != (metering.Usage{InputTokens: 3, OutputTokens: 1}) {
		t.Errorf("partial tail usage %+v, %v", u, ok)
	}
	// A broken usage object counts nothing (FuzzUsage found this one).
	for _, tail := range []string{`"usage":{"input_tokens":1A}`, `{"usage":{"input_tokens":1A}}`} {
		for _, whole := range []bool{false, true} {
			if u, ok := usageFromTail([]byte(tail), whole); ok || u != (metering.Usage{}) {
				t.Errorf("usageFromTail(%s, %v) = %+v, %v; want nothing", tail, whole, u, ok)
			}
		}
	}
}

func TestUsageOnlyChunk(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{`{"choices":[],"usage":{"prompt_tokens":1}}`, true},
		{`{"choices":[ ],"usage":{"prompt_tokens":1}}`, true},
		{`{"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}`, false},
		{`{"usage":{"prompt_tokens":1}}`, false},
	} {
		if got := isUsageOnlyChunk([]byte(tc.data)); got != tc.want {
			t.Errorf("isUsageOnlyChunk(%s) = %v; want %v", tc.data, got, tc.want)
		}
	}
}

// refUsage is parseUsage's rule written over encoding/json, as an oracle:
// the last valid count of either spelling wins; in a details object, the
// first member of the name counts (as jsonx.Get finds it); a count is a
// non-negative JSON integer that fits an int64. It reports false for
// anything but a valid JSON object holding at least one count.
func refUsage(data []byte) (metering.Usage, bool) {
	var u metering.Usage
	found := false
	num := func(v json.RawMessage, dst *int64) {
		var n int64
		if string(v) != "null" && json.Unmarshal(v, &n) == nil && n >= 0 {
			*dst, found = n, true
		}
	}
	detail := func(v json.RawMessage, name string, dst *int64) {
		for _, m := range refMembers(v) {
			if m.key == name {
				num(m.value, dst)
				return
			}
		}
	}
	if !json.Valid(data) {
		return metering.Usage{}, false
	}
	for _, m := range refMembers(data) {
		switch m.key {
		case "prompt_tokens", "input_tokens":
			num(m.value, &u.InputTokens)
		case "completion_tokens", "output_tokens":
			num(m.value, &u.OutputTokens)
		case "prompt_tokens_details", "input_tokens_details":
			detail(m.value, "cached_tokens", &u.CachedInputTokens)
		case "completion_tokens_details", "output_tokens_details":
			detail(m.value, "reasoning_tokens", &u.ReasoningTokens)
		}
	}
	if !found {
		return metering.Usage{}, false
	}
	return u, true
}

type refMember struct {
	key   string
	value json.RawMessage
}

// refMembers returns the members of the valid JSON object in data, in
// order and with duplicates, or nil if data holds another value.
func refMembers(data []byte) []refMember {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []refMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var m refMember
		m.key, _ = tok.(string)
		if err := dec.Decode(&m.value); err != nil {
			return nil
		}
		out = append(out, m)
	}
	return out
}

func FuzzUsage(f *testing.F) {
	f.Add([]byte(`{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":6}}`), true)
	f.Add([]byte(`{"id":"x","choices":[],"usage":{"input_tokens":7}}`), false)
	f.Add([]byte(`"usage": {"a":`), false)
	f.Add([]byte(`{"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":2}}}`), true)
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}`), false)
	f.Fuzz(func(t *testing.T, data []byte, whole bool) {
		// A reader that fails returns nothing; one that succeeds returns
		// no negative count.
		check := func(name string, u metering.Usage, ok bool) {
			t.Helper()
			if !ok && u != (metering.Usage{}) {
				t.Fatalf("%s: usage %+v without ok", name, u)
			}
			if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 || u.ReasoningTokens < 0 {
				t.Fatalf("%s: negative usage %+v", name, u)
			}
		}
		u, ok := usageFromTail(data, whole)
		check("usageFromTail", u, ok)
		u, ok = usageFromEvent(data, whole)
		check("usageFromEvent", u, ok)
		u, ok = parseUsage(data)
		check("parseUsage", u, ok)
		// A usage object parsed directly agrees with encoding/json.
		ru, rok := refUsage(data)
		if diff := cmp.Diff(ru, u); diff != "" || rok != ok {
			t.Fatalf("parseUsage(%q) = %v; encoding/json says %v (-json +ours):\n%s", data, ok, rok, diff)
		}
	})
}

func TestUpstreamBodyEnforcesCap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint providers.Endpoint
		body     string
		capKey   string
		want     string
	}{
		{"chat no cap", providers.EndpointChat, `{"model":"m"}`, "max_completion_tokens", `{"model":"m","max_completion_tokens":500}`},
		{"chat older servers", providers.EndpointChat, `{"model":"m"}`, "max_tokens", `{"model":"m","max_tokens":500}`},
		{"chat null cap", providers.EndpointChat, `{"model":"m","max_completion_tokens":null}`, "max_completion_tokens", `{"model":"m","max_completion_tokens":500}`},
		{"chat own cap kept", providers.EndpointChat, `{"model":"m","max_tokens":7}`, "max_completion_tokens", `{"model":"m","max_tokens":7}`},
		{"responses no cap", providers.EndpointResponses, `{"model":"m","input":"x"}`, "", `{"model":"m","input":"x","max_output_tokens":500}`},
		{"responses null cap", providers.EndpointResponses, `{"model":"m","max_output_tokens":null}`, "", `{"model":"m","max_output_tokens":500}`},
		{"embeddings untouched", providers.EndpointEmbeddings, `{"model":"m","input":"x"}`, "max_completion_tokens", `{"model":"m","input":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := call(t, tc.endpoint, tc.body, "m")
			c.EnforceMaxOutput = 500
			got, _ := upstreamBody(c, tc.capKey)
			if string(got) != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestHasUsageObject(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{
		{`{"choices":[],"usage":{"prompt_tokens":1}}`, true},
		{`{"usage" : {"prompt_tokens":1}}`, true},
		{`{"choices":[{"delta":{"content":"x"}}],"usage":null}`, false},
		{`{"delta":{"content":"the \"usage\":{ trick"},"usage":null}`, false},
		{`{"type":"response.completed","response":{"usage":{"input_tokens":5}}}`, true},
		{`{"usage":null,"x":{"usage":{"a":1}}}`, true},
		{``, false},
		{`"usage"`, false},
	} {
		if got := hasUsageObject([]byte(tc.data)); got != tc.want {
			t.Errorf("hasUsageObject(%s) = %v; want %v", tc.data, got, tc.want)
		}
	}
}

func TestIdleTimeoutStartsWithTheBody(t *testing.T) {
	// The upstream takes longer than the idle timeout to send its status
	// line (a non-streamed answer is sent whole), then streams slowly but
	// within the idle timeout between reads, then stalls.
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond) // the upstream "thinking" before its headers
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"a\":1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-stall:
		}
	}))
	defer srv.Close()
	defer close(stall)
	p, err := New(&Options{BaseURL: srv.URL + "/v1", IdleTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := call(t, providers.EndpointChat, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, "m")
	resp, err := p.Send(t.Context(), c)
	if err != nil {
		t.Fatalf("Send failed while the upstream prepared its headers: %v", err)
	}
	w := httptest.NewRecorder()
	start := time.Now()
	_, err = resp.Relay(w)
	var ue *providers.UpstreamError
	if !errors.As(err, &ue) || !ue.Timeout {
		t.Fatalf("Relay of a stalled stream: %v; want an upstream time-out", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the idle timeout fired after %v", d)
	}
	if !strings.Contains(w.Body.String(), `{"a":1}`) {
		t.Errorf("the event before the stall was not relayed: %q", w.Body)
	}
}

func TestWithoutNullUsage(t *testing.T) {
	r := &response{}
	for _, tc := range []struct{ raw, data, want string }{
		{"data: {\"id\":\"c\",\"usage\":null}\n\n", `{"id":"c","usage":null}`, "data: {\"id\":\"c\"}\n\n"},
		{"data: {\"id\":\"c\",\"usage\":{\"prompt_tokens\":1}}\n\n", `{"id":"c","usage":{"prompt_tokens":1}}`, "data: {\"id\":\"c\",\"usage\":{\"prompt_tokens\":1}}\n\n"},
		{"data: {\"x\":{\"a\":1,\"usage\":null}}\n\n", `{"x":{"a":1,"usage":null}}`, "data: {\"x\":{\"a\":1,\"usage\":null}}\n\n"},
		{"event: chunk\ndata: {\"id\":\"c\",\"usage\":null}\n\n", `{"id":"c","usage":null}`, "event: chunk\ndata: {\"id\":\"c\",\"usage\":null}\n\n"},
		{"data: {\"id\":\"c\",\"usage\":null}\r\n\r\n", `{"id":"c","usage":null}`, "data: {\"id\":\"c\",\"usage\":null}\r\n\r\n"},
		{"data: [DONE]\n\n", "[DONE]", "data: [DONE]\n\n"},
	} {
		if got := string(r.withoutNullUsage([]byte(tc.raw), []byte(tc.data))); got != tc.want {
			t.Errorf("withoutNullUsage(%q) = %q; want %q", tc.raw, got, tc.want)
		}
	}
}
