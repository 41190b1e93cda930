package wicket_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
)

// BenchmarkProxy compares the full wicket chain with a bare
// httputil.ReverseProxy in front of the same fake upstream on loopback, in
// the same run, non-streamed and streamed. It logs the ratios:
//
//	go test -run='^$' -bench=BenchmarkProxy -benchmem .
func BenchmarkProxy(b *testing.B) {
	const streamChunks = 200
	up := httptest.NewServer(fake.Handler(&fake.Options{Chunks: streamChunks}))
	defer up.Close()
	target, _ := url.Parse(up.URL)

	bareRP := httputil.NewSingleHostReverseProxy(target)
	bareRP.Transport = providers.NewTransport(&providers.TransportOptions{HTTP2: true})
	bare := httptest.NewServer(bareRP)
	defer bare.Close()

	p, err := openai.New(&openai.Options{BaseURL: up.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, single("fake-echo", p, ""), nil)
	go func() {
		for range e.outcome {
		}
	}()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	bodies := map[string]string{
		"nonstream": `{"model":"fake-echo","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"` + strings.Repeat("hello wicket ", 40) + `"}],"max_tokens":64}`,
		// The client asks for usage itself, so that the upstream does the
		// same work behind both proxies (wicket would otherwise ask for it).
		"stream": `{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three four five"}]}`,
	}
	nsPerOp := map[string]float64{}
	for _, kind := range []string{"nonstream", "stream"} {
		for _, side := range []struct{ name, url, key string }{{"bare", bare.URL, "unused"}, {"wicket", e.srv.URL, e.key}} {
			name := side.name + "/" + kind
			b.Run(name, func(b *testing.B) {
				var n int64
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest("POST", side.url+"/v1/chat/completions", strings.NewReader(bodies[kind]))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+side.key)
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					m, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
					n = m
				}
				b.SetBytes(n)
				nsPerOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			})
		}
		if bare, ok := nsPerOp["bare/"+kind]; ok && bare > 0 {
			b.Logf("%s: wicket %.0f ns/op, bare ReverseProxy %.0f ns/op, ratio %.3f", kind, nsPerOp["wicket/"+kind], bare, nsPerOp["wicket/"+kind]/bare)
		}
	}
}

// BenchmarkChainOverhead measures the gateway's own cost per request,
// without a network: Guard, key verification (cache hit), limits, decode,
// routing, budget reservation and settlement, and the outcome, around an
// in-process provider that answers at once. The harness sub-benchmark does
// the same test-side work (the request and recorder httptest makes, the
// scripted provider's answer relayed) around a handler that does nothing
// else, so that the gateway's own share is the difference between the two.
func BenchmarkChainOverhead(b *testing.B) {
	body := `{"model":"ok","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`
	b.Run("gateway", func(b *testing.B) {
		p := &scripted{}
		e := newEnv(b, scriptedModels(p), func(c *wicket.Config) {
			c.Prices = perOutputToken(b)
			c.Limits = ratelimit.Limits{RequestsPerMinute: 1 << 35, TokensPerMinute: 1 << 35, MaxConcurrent: 1 << 20}
			c.OnEvent = nil
		})
		chainLoop(b, e.gw, e.key, body)
	})
	// The same with abuse signals on (Config.Abuse, default thresholds):
	// the difference is their cost per request.
	b.Run("gateway+abuse", func(b *testing.B) {
		p := &scripted{}
		e := newEnv(b, scriptedModels(p), func(c *wicket.Config) {
			c.Prices = perOutputToken(b)
			c.Limits = ratelimit.Limits{RequestsPerMinute: 1 << 35, TokensPerMinute: 1 << 35, MaxConcurrent: 1 << 20}
			c.OnEvent = nil
			c.Abuse = &wicket.AbuseConfig{}
		})
		chainLoop(b, e.gw, e.key, body)
	})
	b.Run("harness", func(b *testing.B) {
		p := &scripted{}
		call := &providers.Call{Request: &providers.Request{MaxOutputTokens: 16}, UpstreamModel: "ok"}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				b.Fatal(err)
			}
			resp, err := p.Send(r.Context(), call)
			if err != nil {
				b.Fatal(err)
			}
			for k, v := range resp.Header() {
				w.Header()[k] = v
			}
			if _, err := resp.Relay(w); err != nil {
				b.Fatal(err)
			}
		})
		chainLoop(b, h, "key", body)
	})
}

// chainLoop is BenchmarkChainOverhead's loop around h.
func chainLoop(b *testing.B, h http.Handler, key, body string) {
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkTranslation compares calls translated between dialects with
// the same-dialect pass-through, in the same run, over loopback to the
// fake upstream: OpenAI clients served by an Anthropic upstream and
// Anthropic clients served by an OpenAI one, whole and streamed (with
// translationChunks content events). It logs each translated path's ratio
// to the pass-through of the client's dialect, and the added cost per
// streamed event:
//
//	go test -run='^$' -bench=BenchmarkTranslation -benchmem .
func BenchmarkTranslation(b *testing.B) {
	const translationChunks = 20
	up := httptest.NewServer(fake.Handler(&fake.Options{Chunks: translationChunks}))
	defer up.Close()
	openaiUp, err := openai.New(&openai.Options{BaseURL: up.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	anthropicUp, err := anthropic.New(&anthropic.Options{BaseURL: up.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	prompt := strings.Repeat("hello wicket ", 40)
	type client struct {
		path, body, streamBody string
		header                 map[string]string
	}
	clients := map[string]client{
		"openai": {
			path:       "/v1/chat/completions",
			body:       `{"model":"fake-echo","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"` + prompt + `"}],"max_tokens":64}`,
			streamBody: `{"model":"fake-echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"` + prompt + `"}],"max_tokens":64}`,
		},
		"anthropic": {
			path:       "/v1/messages",
			body:       `{"model":"fake-echo","system":"You are terse.","messages":[{"role":"user","content":"` + prompt + `"}],"max_tokens":64}`,
			streamBody: `{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}],"max_tokens":64}`,
			header:     map[string]string{"anthropic-version": "2023-06-01"},
		},
	}
	upstreams := map[string]providers.Provider{"openai": openaiUp, "anthropic": anthropicUp}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	nsPerOp := map[string]float64{}
	for _, pair := range [][2]string{{"openai", "openai"}, {"openai", "anthropic"}, {"anthropic", "anthropic"}, {"anthropic", "openai"}} {
		from, to := pair[0], pair[1]
		e := newEnv(b, single("fake-echo", upstreams[to], ""), nil)
		go func() {
			for range e.outcome {
			}
		}()
		c := clients[from]
		for _, kind := range []string{"whole", "stream"} {
			body := c.body
			if kind == "stream" {
				body = c.streamBody
			}
			name := from + "→" + to + "/" + kind
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest("POST", e.srv.URL+c.path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+e.key)
					for k, v := range c.header {
						req.Header.Set(k, v)
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
				nsPerOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			})
		}
	}
	for _, pair := range [][2]string{{"openai", "anthropic"}, {"anthropic", "openai"}} {
		for _, kind := range []string{"whole", "stream"} {
			pass, tr := nsPerOp[pair[0]+"→"+pair[0]+"/"+kind], nsPerOp[pair[0]+"→"+pair[1]+"/"+kind]
			if pass == 0 || tr == 0 {
				continue
			}
			b.Logf("%s→%s %s: translated %.0f ns/op, pass-through %.0f ns/op, ratio %.3f", pair[0], pair[1], kind, tr, pass, tr/pass)
			if kind == "stream" {
				b.Logf("%s→%s: %.0f ns added per streamed event", pair[0], pair[1], (tr-pass)/translationChunks)
			}
		}
	}
}

// BenchmarkTranslateEvent measures one streamed content event translated
// between dialects, decoder and encoder together, without I/O: an OpenAI
// chunk written as Anthropic events, and an Anthropic content_block_delta
// written as an OpenAI chunk.
//
//	go test -run='^$' -bench=BenchmarkTranslateEvent -benchmem .
func BenchmarkTranslateEvent(b *testing.B) {
	b.Run("openai→anthropic", func(b *testing.B) {
		first := []byte(`{"id":"chatcmpl-B","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
		chunk := []byte(`{"id":"chatcmpl-B","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1",` +
			`"choices":[{"index":0,"delta":{"content":" the quick brown"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Yq7"}`)
		var dec openai.StreamDecoder
		emit := anthropic.NewStreamEncoder(io.Discard).Encode
		if err := dec.Decode(first, emit); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := dec.Decode(chunk, emit); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("anthropic→openai", func(b *testing.B) {
		delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the quick brown"}}`)
		var dec anthropic.StreamDecoder
		emit := openai.NewStreamEncoder(io.Discard, nil).Encode
		for _, ev := range [][2]string{
			{"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}`},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		} {
			if err := dec.Decode(ev[0], []byte(ev[1]), emit); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := dec.Decode("content_block_delta", delta, emit); err != nil {
				b.Fatal(err)
			}
		}
	})
}
