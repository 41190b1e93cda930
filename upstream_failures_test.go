package wicket_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

// stallAfterHeaders answers 200 with its headers, then sends nothing
// until the gateway gives up.
func stallAfterHeaders(contentType string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// idleProvider is an OpenAI-dialect provider with a short idle timeout.
func idleProvider(t *testing.T, u *upstream, name string, idle time.Duration) providers.Provider {
	t.Helper()
	p, err := openai.New(&openai.Options{Name: name, BaseURL: u.srv.URL + "/v1", APIKey: redact.NewSecret(upstreamSecret), IdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Before the first body byte, an upstream failure is a failed attempt: the
// client gets 504/502 in its dialect (not a dropped connection), the event
// says so, and another deployment may still answer.
func TestFailureAfterHeadersBeforeFirstByte(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ct         string
	}{
		{"non-streamed", `{"model":"m"}`, "application/json"},
		{"streamed", `{"model":"m","stream":true}`, "text/event-stream"},
	} {
		t.Run(tc.name+"/alone", func(t *testing.T) {
			stall := newUpstream(t, stallAfterHeaders(tc.ct))
			e := newEnv(t, single("m", idleProvider(t, stall, "stall", 50*time.Millisecond), ""),
				func(c *wicket.Config) { c.RetryBackoff = time.Millisecond })
			resp := e.post(t, "/v1/chat/completions", tc.body)
			body := readAll(t, resp)
			if resp.StatusCode != 504 || !strings.Contains(body, `"code":"upstream_timeout"`) {
				t.Fatalf("got %d %s; want 504 upstream_timeout in OpenAI shape", resp.StatusCode, body)
			}
			o := <-e.outcome
			if o.Status != 504 || o.ErrorClass != metering.ClassTimeout || o.CostMicros != 0 {
				t.Errorf("outcome status %d err %q cost %d; want 504 timeout 0", o.Status, o.ErrorClass, o.CostMicros)
			}
		})
		t.Run(tc.name+"/falls back", func(t *testing.T) {
			stall := newUpstream(t, stallAfterHeaders(tc.ct))
			good := newUpstream(t, func(w http.ResponseWriter, r *http.Request, b []byte) {
				if strings.Contains(string(b), `"stream":true`) {
					sseUpstream(w, r, b)
					return
				}
				okUpstream(w, r, b)
			})
			e := newEnv(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
				{Provider: idleProvider(t, stall, "stall", 50*time.Millisecond)},
				{Provider: good.provider(t, "good")},
			}}}, nil)
			resp := e.post(t, "/v1/chat/completions", tc.body)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || (tc.ct == "application/json" && body != completionFixture) || (tc.ct != "application/json" && !strings.Contains(body, "[DONE]")) {
				t.Fatalf("got %d %s; want the second deployment's whole answer", resp.StatusCode, body)
			}
			o := <-e.outcome
			if o.Attempts != 2 || o.Provider != "good" || o.ErrorClass != "" {
				t.Errorf("outcome attempts %d provider %q err %q; want 2 good success", o.Attempts, o.Provider, o.ErrorClass)
			}
		})
	}
}

// An upstream whose first event is larger than the event cap fails before
// the first byte: 502, not a dropped connection.
func TestFirstEventTooLargeIs502(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+strings.Repeat("x", 2<<20)+"\n\n")
	})
	e := newEnv(t, single("m", up.provider(t, "big"), ""), func(c *wicket.Config) { c.RetryBackoff = time.Millisecond })
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true}`)
	body := readAll(t, resp)
	if resp.StatusCode != 502 || !strings.Contains(body, `"type":"server_error"`) {
		t.Fatalf("got %d %s; want 502 in OpenAI shape", resp.StatusCode, body)
	}
	if o := <-e.outcome; o.Status != 502 || o.ErrorClass != metering.ClassUpstreamError {
		t.Errorf("outcome status %d err %q; want 502 upstream_error", o.Status, o.ErrorClass)
	}
}

// A stream that ends without its terminal event is truncated: the client's
// connection is aborted (its SDK reports an error) and the event says
// incomplete.
func TestTruncatedStreamAborts(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range streamChunks[:2] {
			io.WriteString(w, "data: "+c+"\n\n")
		}
		io.WriteString(w, `data: {"id":"c1","object":"chat.comp`) // closes mid-event
	})
	e := newEnv(t, single("m", up.provider(t, "cut"), ""), nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true}`)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the client read a clean end of stream (%q); want an error", got)
	}
	if !strings.Contains(string(got), `"Hel"`) {
		t.Errorf("client got %q; want the events before the cut", got)
	}
	if o := <-e.outcome; o.Status != 200 || o.ErrorClass != metering.ClassIncomplete {
		t.Errorf("outcome status %d err %q; want 200 incomplete", o.Status, o.ErrorClass)
	}
}

// A retryable answer kept while another deployment is tried is relayed
// whole even when that other one fails slowly, as the deployment that gave
// it.
func TestHeldAnswerSurvivesSlowFallback(t *testing.T) {
	const body503 = `{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}`
	busy := newUpstream(t, errorUpstream(503, body503))
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() })
	slowClient := &http.Client{Transport: providers.NewTransport(&providers.TransportOptions{ResponseHeaderTimeout: 300 * time.Millisecond})}
	slowP, err := openai.New(&openai.Options{Name: "slow", BaseURL: slow.srv.URL + "/v1", Client: slowClient})
	if err != nil {
		t.Fatal(err)
	}
	router, err := providers.NewRouter([]providers.Model{{Name: "m", Deployments: []providers.Deployment{
		{Provider: idleProvider(t, busy, "busy", 50*time.Millisecond)}, {Provider: slowP},
	}}}, &providers.RouterOptions{MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *wicket.Config) { c.Router = router })
	resp := e.post(t, "/v1/chat/completions", `{"model":"m"}`)
	if body := readAll(t, resp); resp.StatusCode != 503 || body != body503 {
		t.Fatalf("got %d %q; want the held 503 whole", resp.StatusCode, body)
	}
	o := <-e.outcome
	if o.Provider != "busy" || o.Deployment != "busy/m" || o.Attempts != 2 || o.Status != 503 {
		t.Errorf("outcome provider %q deployment %q attempts %d status %d; want busy busy/m 2 503", o.Provider, o.Deployment, o.Attempts, o.Status)
	}
}

// An upstream's 401/403 is about the operator's credential: the caller
// gets a generic 502, never the upstream's text, the credential is not
// retried, the application hears of it, and other deployments still serve.
func TestUpstreamRefusesGatewayCredential(t *testing.T) {
	const body401 = `{"error":{"message":"Incorrect API key provided: sk-upstr*********-123.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	for _, status := range []int{401, 403} {
		refusing := newUpstream(t, errorUpstream(status, body401))
		good := newUpstream(t, okUpstream)
		var mu sync.Mutex
		var heard []wicket.UpstreamRefusal
		var logs strings.Builder
		onRefusal := func(c *wicket.Config) {
			c.RetryBackoff = time.Millisecond
			c.Logger = newJSONLogger(&logs)
			c.OnUpstreamRefusal = func(_ context.Context, r wicket.UpstreamRefusal) {
				mu.Lock()
				heard = append(heard, r)
				mu.Unlock()
			}
		}
		alone := newEnv(t, single("m", refusing.provider(t, "acct"), ""), onRefusal)
		resp := alone.post(t, "/v1/chat/completions", `{"model":"m"}`)
		body := readAll(t, resp)
		if resp.StatusCode != 502 || strings.Contains(body, "sk-") || strings.Contains(body, "Incorrect") || !strings.Contains(body, `"type":"server_error"`) {
			t.Errorf("%d alone: got %d %s; want a generic 502", status, resp.StatusCode, body)
		}
		if n := len(refusing.requests()); n != 1 {
			t.Errorf("%d alone: the refused credential was tried %d times; want 1", status, n)
		}
		if o := <-alone.outcome; o.Status != 502 || o.ErrorClass != metering.ClassUpstreamError || o.Attempts != 1 {
			t.Errorf("%d alone: outcome %d %q attempts %d", status, o.Status, o.ErrorClass, o.Attempts)
		}
		mu.Lock()
		if len(heard) != 1 || heard[0].Provider != "acct" || heard[0].Status != status || heard[0].RequestID == "" {
			t.Errorf("%d: hook heard %+v; want one refusal by acct", status, heard)
		}
		mu.Unlock()
		if l := logs.String(); !strings.Contains(l, "refused the gateway's credential") || strings.Contains(l, "sk-") || strings.Contains(l, upstreamSecret) {
			t.Errorf("%d: log %s; want the refusal logged with identifiers only", status, l)
		}

		both := newEnv(t, []providers.Model{{Name: "m", Deployments: []providers.Deployment{
			{Provider: refusing.provider(t, "acct")}, {Provider: good.provider(t, "other")},
		}}}, onRefusal)
		resp = both.post(t, "/v1/chat/completions", `{"model":"m"}`)
		if body := readAll(t, resp); resp.StatusCode != 200 || body != completionFixture {
			t.Errorf("%d with fallback: got %d %s; want the other deployment's answer", status, resp.StatusCode, body)
		}
	}
}

// The failure classes of relay errors are kept: a time-out mid-stream is a
// time-out.
func TestMidStreamTimeoutIsATimeout(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+streamChunks[0]+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	e := newEnv(t, single("m", idleProvider(t, up, "idle", 50*time.Millisecond), ""), nil)
	resp := e.post(t, "/v1/chat/completions", `{"model":"m","stream":true}`)
	_, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || errors.Is(err, io.EOF) {
		t.Errorf("read err %v; want the connection aborted", err)
	}
	if o := <-e.outcome; o.Status != 200 || o.ErrorClass != metering.ClassTimeout {
		t.Errorf("outcome status %d err %q; want 200 timeout", o.Status, o.ErrorClass)
	}
}
