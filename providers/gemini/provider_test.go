package gemini

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/redact"
)

const testKey = "AIzaUPSTREAM-KEY"

// gcall returns a call of a Gemini client for the deployment model
// "gemini-up", whose public name is "pub".
func gcall(endpoint providers.Endpoint, body string, stream, array bool) *providers.Call {
	return &providers.Call{
		Request: &providers.Request{Dialect: providers.DialectGemini, Endpoint: endpoint, Model: "pub",
			Stream: stream, ArrayStream: array, Choices: 1, Body: []byte(body)},
		UpstreamModel: "gemini-up",
	}
}

func TestNew(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "gemini" || p.base != "https://generativelanguage.googleapis.com/v1beta" || p.Dialect() != providers.DialectGemini {
		t.Errorf("defaults: name %q, base %q, dialect %v", p.Name(), p.base, p.Dialect())
	}
	if p.idle <= 0 || p.client == nil {
		t.Errorf("defaults: idle %v, client %v", p.idle, p.client)
	}
	for _, base := range []string{"ftp://example.com/v1beta", "https://user:SECRETPW@example.com/v1beta",
		"https://example.com/v1beta?key=SECRETKEY", "https://example.com/v1beta?", "https://example.com/v1beta#SECRETFRAG",
		"example.com/v1beta", "https://", "http://%zz"} {
		_, err := New(&Options{Name: "g2", BaseURL: base})
		if err == nil {
			t.Errorf("New accepted BaseURL %q", base)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "BaseURL") || strings.Contains(msg, "SECRET") {
			t.Errorf("error %q: want it to name BaseURL and nothing of the URL", msg)
		}
	}
}

func TestSend(t *testing.T) {
	const body = `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":5}}`
	cases := []struct {
		name      string
		call      *providers.Call
		path, raw string
		accept    string
	}{
		{"generate", gcall(providers.EndpointChat, body, false, false), "/v1beta/models/gemini-up:generateContent", "", "application/json"},
		{"stream", gcall(providers.EndpointChat, body, true, false), "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", "text/event-stream"},
		{"array stream asks for SSE", gcall(providers.EndpointChat, body, true, true), "/v1beta/models/gemini-up:streamGenerateContent", "alt=sse", "text/event-stream"},
		{"count", gcall(providers.EndpointCountTokens, `{"contents":[]}`, false, false), "/v1beta/models/gemini-up:countTokens", "", "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != tc.path || r.URL.RawQuery != tc.raw {
					t.Errorf("upstream got %s %s?%s; want POST %s?%s", r.Method, r.URL.Path, r.URL.RawQuery, tc.path, tc.raw)
				}
				if strings.Contains(r.URL.String(), "key") || strings.Contains(r.RequestURI, testKey) {
					t.Errorf("the URL %q carries a key", r.RequestURI)
				}
				if got := r.Header.Get("X-Goog-Api-Key"); got != testKey {
					t.Errorf("x-goog-api-key %q; want the upstream key", got)
				}
				if r.Header.Get("Authorization") != "" {
					t.Error("an Authorization header was sent")
				}
				if got := r.Header.Get("X-Team"); got != "blue" {
					t.Errorf("X-Team %q; want the configured header", got)
				}
				if got := r.Header.Get("Accept"); got != tc.accept {
					t.Errorf("Accept %q; want %q", got, tc.accept)
				}
				if got := r.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type %q", got)
				}
				b, _ := io.ReadAll(r.Body)
				if string(b) != string(tc.call.Body) {
					t.Errorf("body %s; want the client's %s", b, tc.call.Body)
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			p, err := New(&Options{BaseURL: srv.URL + "/v1beta/", APIKey: redact.NewSecret(testKey), Header: http.Header{"X-Team": {"blue"}}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Send(t.Context(), tc.call)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			defer resp.Close()
			if resp.StatusCode() != 200 {
				t.Errorf("status %d", resp.StatusCode())
			}
		})
	}
}

func TestSendRefuses(t *testing.T) {
	p, err := New(&Options{BaseURL: "http://upstream.invalid/v1beta"})
	if err != nil {
		t.Fatal(err)
	}
	other := gcall(providers.EndpointChat, simpleBody, false, false)
	other.Dialect = providers.DialectOpenAI
	noModel := gcall(providers.EndpointChat, simpleBody, false, false)
	noModel.UpstreamModel = ""
	for name, c := range map[string]*providers.Call{
		"other dialect": other,
		"embeddings":    gcall(providers.EndpointEmbeddings, simpleBody, false, false),
		"no model":      noModel,
	} {
		if _, err := p.Send(t.Context(), c); err == nil {
			t.Errorf("%s: Send accepted it", name)
		}
	}
}

func TestUpstreamModelEscaped(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.EscapedPath()
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	p, _ := New(&Options{BaseURL: srv.URL + "/v1beta"})
	c := gcall(providers.EndpointChat, simpleBody, false, false)
	c.UpstreamModel = "tuned/a b?"
	resp, err := p.Send(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
	if path := <-got; path != "/v1beta/models/tuned%2Fa%20b%3F:generateContent" {
		t.Errorf("path %s; want the model escaped as one segment", path)
	}
}

func TestUpstreamBody(t *testing.T) {
	cases := []struct {
		name     string
		endpoint providers.Endpoint
		body     string
		cap      int64 // the client's
		enforce  int64
		want     string
	}{
		{"unchanged", providers.EndpointChat, `{"contents":[]}`, 0, 0, `{"contents":[]}`},
		{"client cap kept", providers.EndpointChat, `{"contents":[],"generationConfig":{"maxOutputTokens":5}}`, 5, 100,
			`{"contents":[],"generationConfig":{"maxOutputTokens":5}}`},
		{"no config", providers.EndpointChat, `{"contents":[]}`, 0, 100, `{"contents":[],"generationConfig":{"maxOutputTokens":100}}`},
		{"empty config", providers.EndpointChat, `{"contents":[],"generationConfig":{ }}`, 0, 100, `{"contents":[],"generationConfig":{ "maxOutputTokens":100}}`},
		{"null config", providers.EndpointChat, `{"generationConfig":null,"contents":[]}`, 0, 100, `{"generationConfig":{"maxOutputTokens":100},"contents":[]}`},
		{"config without cap", providers.EndpointChat, `{"contents":[],"generationConfig":{"temperature":0}}`, 0, 100,
			`{"contents":[],"generationConfig":{"temperature":0,"maxOutputTokens":100}}`},
		{"zero cap", providers.EndpointChat, `{"contents":[],"generationConfig":{"maxOutputTokens":0,"topK":3}}`, 0, 100,
			`{"contents":[],"generationConfig":{"maxOutputTokens":100,"topK":3}}`},
		{"proto names", providers.EndpointChat, `{"contents":[],"generation_config":{"max_output_tokens":null}}`, 0, 100,
			`{"contents":[],"generation_config":{"max_output_tokens":100}}`},
		{"model in the body", providers.EndpointChat, `{"model":"models/pub","contents":[]}`, 0, 0, `{"model":"models/gemini-up","contents":[]}`},
		{"count keeps its body", providers.EndpointCountTokens, `{"contents":[]}`, 0, 100, `{"contents":[]}`},
		{"count model", providers.EndpointCountTokens, `{"generateContentRequest":{"model":"models/pub","contents":[]}}`, 0, 100,
			`{"generateContentRequest":{"model":"models/gemini-up","contents":[]}}`},
		{"count model, proto name", providers.EndpointCountTokens, `{"model":"x","generate_content_request":{"contents":[],"model":"models/pub"}}`, 0, 0,
			`{"model":"models/gemini-up","generate_content_request":{"contents":[],"model":"models/gemini-up"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := gcall(tc.endpoint, tc.body, false, false)
			c.MaxOutputTokens, c.EnforceMaxOutput = tc.cap, tc.enforce
			got := upstreamBody(c)
			if string(got) != tc.want {
				t.Errorf("upstreamBody = %s; want %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("upstreamBody is not JSON: %s", got)
			}
			if string(c.Body) != tc.body {
				t.Errorf("the client's body changed to %s", c.Body)
			}
		})
	}
}

// TestEnforcedCapDecodes checks that the cap the adapter adds is the one
// the door reads back.
func TestEnforcedCapDecodes(t *testing.T) {
	for _, body := range []string{simpleBody, `{"contents":[],"generationConfig":{"maxOutputTokens":"0"}}`, `{"contents":[],"generation_config":{}}`} {
		req, perr := decodeAt(t, "/v1beta/models/g:generateContent", body)
		if perr != nil {
			t.Fatal(perr)
		}
		c := &providers.Call{Request: req, UpstreamModel: "g", EnforceMaxOutput: 77}
		out := upstreamBody(c)
		again, perr := decodeAt(t, "/v1beta/models/g:generateContent", string(out))
		if perr != nil {
			t.Fatalf("%s: %v", out, perr)
		}
		if again.MaxOutputTokens != 77 {
			t.Errorf("%s: cap %d; want 77", out, again.MaxOutputTokens)
		}
	}
}
