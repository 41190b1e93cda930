package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/redact"
)

func TestToCanon(t *testing.T) {
	req, perr := decodeAt(t, "/v1beta/models/g:streamGenerateContent", `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":9}}`)
	if perr != nil {
		t.Fatal(perr)
	}
	c, perr := FrontDoor{}.ToCanon(req)
	if perr != nil {
		t.Fatalf("ToCanon: %v", perr)
	}
	if c.Model != "g" || !c.Stream || c.MaxOutputTokens == nil || *c.MaxOutputTokens != 9 || c.Messages[0].Text() != "Hi" {
		t.Errorf("ToCanon = %+v", c)
	}
	req, _ = decodeAt(t, "/v1beta/models/g:generateContent", `{"contents":[],"cachedContent":"cachedContents/x"}`)
	if _, perr := (FrontDoor{}).ToCanon(req); perr == nil || perr.Status != 400 || perr.Param != "cachedContent" {
		t.Errorf("ToCanon of cachedContent: %v; want a 400 naming it", perr)
	}
	req, _ = decodeAt(t, "/v1beta/models/g:countTokens", `{"contents":[]}`)
	if _, perr := (FrontDoor{}).ToCanon(req); perr == nil || perr.Status != 501 || perr.Code != "translation_not_supported" {
		t.Errorf("ToCanon of countTokens: %v; want 501 translation_not_supported", perr)
	}
}

// canonUpstream serves body for the one path it expects, checking the
// key and the body it got.
func canonUpstream(t *testing.T, wantPath, wantQuery string, wantBody []byte, contentType, body string) *Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wantPath || r.URL.RawQuery != wantQuery {
			t.Errorf("upstream got %s?%s; want %s?%s", r.URL.Path, r.URL.RawQuery, wantPath, wantQuery)
		}
		if r.Header.Get("X-Goog-Api-Key") != testKey {
			t.Error("the upstream key is missing")
		}
		got, _ := io.ReadAll(r.Body)
		if !bytes.Equal(got, wantBody) {
			t.Errorf("upstream body %s; want %s", got, wantBody)
		}
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	p, err := New(&Options{BaseURL: srv.URL + "/v1beta", APIKey: redact.NewSecret(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// canonCall is a call of an OpenAI client to the Gemini deployment
// "gemini-up", which the gateway must cap at 50 output tokens.
func canonCall(stream bool) (*providers.Call, *canon.Request) {
	c := &providers.Call{Request: &providers.Request{Dialect: providers.DialectOpenAI, Endpoint: providers.EndpointChat,
		Model: "pub", Stream: stream, Choices: 1}, UpstreamModel: "gemini-up", EnforceMaxOutput: 50}
	r := &canon.Request{Model: "pub", Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{canon.TextPart("Hi")}}}}
	return c, r
}

// collect reads a CanonResponse's events into a whole answer.
func collect(t *testing.T, resp providers.CanonResponse) (*canon.Response, []canon.Event, providers.Result, error) {
	t.Helper()
	var acc canon.Accumulator
	var evs []canon.Event
	res, err := resp.Events(func(ev canon.Event) error {
		evs = append(evs, ev.Clone())
		return acc.Add(ev)
	})
	return acc.Response(), evs, res, err
}

func TestSendCanon(t *testing.T) {
	wantBody := []byte(`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":50}}`)
	want := &canon.Response{ID: "r1", Model: "gemini-2.5-flash", Usage: wantUsage, UsageKnown: true, Choices: []canon.Choice{{
		Finish: canon.FinishStop, RawFinish: "STOP",
		Parts: []canon.Part{{Kind: canon.PartThinking, Text: "Thinking it over"}, canon.TextPart("Hello!")},
	}}}
	t.Run("stream", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", wantBody,
			"text/event-stream", sseFrames(chunk1, chunk2, chunk3))
		c, r := canonCall(true)
		resp, err := p.SendCanon(t.Context(), c, r)
		if err != nil {
			t.Fatalf("SendCanon: %v", err)
		}
		got, evs, res, err := collect(t, resp)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		want := *want
		want.Choices = []canon.Choice{{Finish: canon.FinishStop, RawFinish: "STOP",
			Parts: []canon.Part{{Kind: canon.PartThinking, Text: "Thinking it over"}, canon.TextPart("Hello!")}}}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
		if !res.UsageKnown || res.Usage != wantUsage {
			t.Errorf("usage %+v; want %+v", res.Usage, wantUsage)
		}
		if last := evs[len(evs)-1]; last.Kind != canon.EventUsage {
			t.Errorf("last event %v; want the usage", last.Kind)
		}
		if r.Model != "pub" || r.MaxOutputTokens != nil || r.Stream {
			t.Errorf("SendCanon changed the caller's request: %+v", r)
		}
	})
	t.Run("whole", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:generateContent", "", wantBody, "application/json", wholeAnswer)
		c, r := canonCall(false)
		resp, err := p.SendCanon(t.Context(), c, r)
		if err != nil {
			t.Fatalf("SendCanon: %v", err)
		}
		if resp.StatusCode() != 200 {
			t.Errorf("status %d", resp.StatusCode())
		}
		got, _, res, err := collect(t, resp)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		want := &canon.Response{ID: "r1", Model: "gemini-2.5-flash", Usage: wantUsage, UsageKnown: true, Choices: []canon.Choice{{
			Finish: canon.FinishStop, RawFinish: "STOP", Parts: []canon.Part{canon.TextPart("Hello!")}}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
		if !res.UsageKnown || res.Usage != wantUsage {
			t.Errorf("usage %+v; want %+v", res.Usage, wantUsage)
		}
		resp.Close() // again: harmless
	})
}

func TestSendCanonStreamEnds(t *testing.T) {
	wantBody := []byte(`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":50}}`)
	t.Run("truncated", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", wantBody,
			"text/event-stream", sseFrames(chunk1, chunk2))
		c, r := canonCall(true)
		resp, err := p.SendCanon(t.Context(), c, r)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = collect(t, resp)
		if _, ok := errors.AsType[*providers.UpstreamError](err); !ok || !errors.Is(err, providers.ErrIncomplete) {
			t.Errorf("Events of a truncated stream: %v; want an UpstreamError wrapping ErrIncomplete", err)
		}
	})
	t.Run("error chunk", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", wantBody,
			"text/event-stream", sseFrames(chunk1, errChunk, chunk3))
		c, r := canonCall(true)
		resp, err := p.SendCanon(t.Context(), c, r)
		if err != nil {
			t.Fatal(err)
		}
		_, evs, _, err := collect(t, resp)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		last := evs[len(evs)-1]
		if last.Kind != canon.EventError || last.Error.Status != 503 || last.Error.Type != "UNAVAILABLE" {
			t.Errorf("last event %+v; want the upstream's error", last)
		}
	})
	t.Run("emit error", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", wantBody,
			"text/event-stream", sseFrames(chunk1, chunk2, chunk3))
		c, r := canonCall(true)
		resp, _ := p.SendCanon(t.Context(), c, r)
		stop := errors.New("client gone")
		if _, err := resp.Events(func(canon.Event) error { return stop }); err != stop {
			t.Errorf("Events: %v; want emit's error as it is", err)
		}
	})
	t.Run("broken whole answer", func(t *testing.T) {
		p := canonUpstream(t, "/v1beta/models/gemini-up:generateContent", "", wantBody, "application/json", `{"candidates":[`)
		c, r := canonCall(false)
		resp, _ := p.SendCanon(t.Context(), c, r)
		if _, _, _, err := collect(t, resp); err == nil {
			t.Error("Events of a broken answer succeeded")
		} else if _, ok := errors.AsType[*providers.UpstreamError](err); !ok {
			t.Errorf("Events: %v; want an UpstreamError", err)
		}
	})
}

func TestSendCanonRefuses(t *testing.T) {
	p, _ := New(&Options{BaseURL: "http://upstream.invalid/v1beta"})
	c, r := canonCall(false)
	r.User = "u-1"
	_, err := p.SendCanon(t.Context(), c, r)
	if _, ok := errors.AsType[*canon.UnsupportedError](err); !ok {
		t.Errorf("SendCanon with a user: %v; want a *canon.UnsupportedError", err)
	}
	c, r = canonCall(false)
	c.Endpoint = providers.EndpointEmbeddings
	if _, err := p.SendCanon(t.Context(), c, r); err == nil {
		t.Error("SendCanon of embeddings succeeded")
	}
}

// answer is a canonical answer with thinking, text and a tool call.
func answer() *canon.Response {
	return &canon.Response{ID: "r9", Model: "gpt-x", Usage: metering.Usage{InputTokens: 10, OutputTokens: 7, ReasoningTokens: 2}, UsageKnown: true,
		Choices: []canon.Choice{{Finish: canon.FinishToolCalls, Parts: []canon.Part{
			{Kind: canon.PartThinking, Text: "hmm"},
			canon.TextPart("Let me look."),
			{Kind: canon.PartToolCall, ToolCall: canon.ToolCall{ID: "call_1", Name: "weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}},
		}}}}
}

// flushRecorder records whether anything was written when each flush
// happened.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushRecorder) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

func TestNewWriter(t *testing.T) {
	cases := []struct {
		name          string
		stream, array bool
		contentType   string
		chunks        func(t *testing.T, body []byte) [][]byte
	}{
		{"sse", true, false, "text/event-stream", func(t *testing.T, body []byte) [][]byte {
			rd := sse.NewReader(bytes.NewReader(body), nil)
			var out [][]byte
			for {
				ev, err := rd.Next()
				if err == io.EOF {
					return out
				}
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, bytes.Clone(ev.Data))
			}
		}},
		{"array", true, true, "application/json; charset=UTF-8", func(t *testing.T, body []byte) [][]byte {
			var elems []json.RawMessage
			if err := json.Unmarshal(body, &elems); err != nil {
				t.Fatalf("body %q is not a JSON array: %v", body, err)
			}
			var out [][]byte
			for _, e := range elems {
				out = append(out, e)
			}
			return out
		}},
		{"whole", false, false, "application/json; charset=UTF-8", func(t *testing.T, body []byte) [][]byte { return [][]byte{body} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			cw := FrontDoor{}.NewWriter(rec, &providers.Request{Dialect: providers.DialectGemini, Endpoint: providers.EndpointChat,
				Stream: tc.stream, ArrayStream: tc.array})
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.flushes != 0 {
				t.Fatal("NewWriter wrote before the first event")
			}
			src := answer()
			var werr error
			if err := src.Events(func(ev canon.Event) {
				if werr == nil {
					werr = cw.Write(ev)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if werr != nil {
				t.Fatalf("Write: %v", werr)
			}
			if err := cw.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q; want %q", ct, tc.contentType)
			}
			if tc.stream && rec.flushes < 3 {
				t.Errorf("%d flushes; want one per chunk", rec.flushes)
			}
			// Read the answer back as a Gemini client would.
			var got *canon.Response
			chunks := tc.chunks(t, rec.Body.Bytes())
			if tc.stream {
				var dec StreamDecoder
				var acc canon.Accumulator
				for _, c := range chunks {
					if err := dec.Decode(c, acc.Add); err != nil {
						t.Fatalf("decoding %s: %v", c, err)
					}
				}
				if err := dec.Finish(acc.Add); err != nil {
					t.Fatal(err)
				}
				got = acc.Response()
				var end streamEnd
				for _, c := range chunks {
					end.observe(c)
				}
				if !end.complete() {
					t.Error("the stream written does not end as Gemini ends one")
				}
			} else {
				var err error
				if got, err = ResponseToCanon(chunks[0]); err != nil {
					t.Fatalf("ResponseToCanon(%s): %v", chunks[0], err)
				}
			}
			want := answer()
			want.Choices[0].RawFinish = "STOP"
			want.Choices[0].Parts[2].ToolCall.ID = "call_1"
			if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Created" }, cmp.Ignore())); diff != "" {
				t.Errorf("answer read back (-want +got):\n%s\n%s", diff, rec.Body)
			}
		})
	}
}

func TestNewWriterError(t *testing.T) {
	fail := canon.Event{Kind: canon.EventError, Error: &canon.Error{Status: 529, Type: "overloaded_error", Message: "Overloaded"}}
	start := canon.Event{Kind: canon.EventStart, ID: "x", Created: time.Unix(1, 0)}
	for _, tc := range []struct {
		name          string
		stream, array bool
		want          string
	}{
		{"whole", false, false, `{"error":{"code":529,"message":"Overloaded","status":"INTERNAL"}}`},
		{"sse", true, false, "data: {\"error\":{\"code\":529,\"message\":\"Overloaded\",\"status\":\"INTERNAL\"}}\r\n\r\n"},
		{"array", true, true, `[{"error":{"code":529,"message":"Overloaded","status":"INTERNAL"}}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			cw := FrontDoor{}.NewWriter(rec, &providers.Request{Endpoint: providers.EndpointChat, Stream: tc.stream, ArrayStream: tc.array})
			for _, ev := range []canon.Event{start, fail} {
				if err := cw.Write(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := cw.Close(); err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("body %q; want %q", got, tc.want)
			}
		})
	}
}

func TestArrayStreamEncoder(t *testing.T) {
	var b bytes.Buffer
	enc := NewArrayStreamEncoder(&b)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]" {
		t.Errorf("an empty stream is %q; want []", b.String())
	}
}
