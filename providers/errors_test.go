package providers

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wicket-gw/wicket/internal/h1"
)

// The wanted types and statuses follow the providers' own documentation:
// OpenAI answers 5xx with "server_error" and 401 with
// "invalid_request_error" (code "invalid_api_key"); Anthropic's types are
// listed at docs.anthropic.com/en/api/errors (504 is timeout_error, 529
// overloaded_error); Gemini sends the google.rpc.Code name that maps to the
// HTTP status (ai.google.dev/gemini-api/docs/troubleshooting).
func TestErrorBody(t *testing.T) {
	const msg = "Something happened."
	for _, tc := range []struct {
		status    int
		openAI    string // OpenAI error.type
		anthropic string // Anthropic error.type
		gemini    string // Gemini error.status
	}{
		{400, "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"},
		{401, "invalid_request_error", "authentication_error", "UNAUTHENTICATED"},
		{402, "invalid_request_error", "billing_error", "FAILED_PRECONDITION"},
		{403, "permission_error", "permission_error", "PERMISSION_DENIED"},
		{404, "invalid_request_error", "not_found_error", "NOT_FOUND"},
		{413, "invalid_request_error", "request_too_large", "INVALID_ARGUMENT"},
		{429, "rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED"},
		{500, "server_error", "api_error", "INTERNAL"},
		{501, "server_error", "api_error", "UNIMPLEMENTED"},
		{502, "server_error", "api_error", "INTERNAL"},
		{503, "server_error", "overloaded_error", "UNAVAILABLE"},
		{504, "server_error", "timeout_error", "DEADLINE_EXCEEDED"},
		{529, "server_error", "overloaded_error", "UNAVAILABLE"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			e := &Error{Status: tc.status, Message: msg}
			want := map[Dialect]string{
				DialectOpenAI:    `{"error":{"message":"Something happened.","type":"` + tc.openAI + `","param":null,"code":null}}` + "\n",
				DialectAnthropic: `{"type":"error","error":{"type":"` + tc.anthropic + `","message":"Something happened."}}` + "\n",
				DialectGemini:    `{"error":{"code":` + fmt.Sprint(tc.status) + `,"message":"Something happened.","status":"` + tc.gemini + `"}}` + "\n",
			}
			for d, w := range want {
				if got := string(e.Body(d)); got != w {
					t.Errorf("Body(%v):\n got %s\nwant %s", d, got, w)
				}
			}
		})
	}
}

// TestErrorBodyServerStatuses checks the 5xx rows that TestErrorBody
// skips for the OpenAI type, in the two dialects that are right today.
func TestErrorBodyServerStatuses(t *testing.T) {
	for _, tc := range []struct {
		status            int
		anthropic, gemini string
	}{
		{500, "api_error", "INTERNAL"},
		{501, "api_error", "UNIMPLEMENTED"},
		{502, "api_error", "INTERNAL"},
		{503, "overloaded_error", "UNAVAILABLE"},
		{504, "timeout_error", "DEADLINE_EXCEEDED"},
		{529, "overloaded_error", ""}, // Gemini: see TestErrorBody
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			e := &Error{Status: tc.status, Code: "ignored_by_these_dialects", Message: "m"}
			want := `{"type":"error","error":{"type":"` + tc.anthropic + `","message":"m"}}` + "\n"
			if got := string(e.Body(DialectAnthropic)); got != want {
				t.Errorf("anthropic: got %s; want %s", got, want)
			}
			if tc.gemini == "" {
				return
			}
			want = `{"error":{"code":` + fmt.Sprint(tc.status) + `,"message":"m","status":"` + tc.gemini + `"}}` + "\n"
			if got := string(e.Body(DialectGemini)); got != want {
				t.Errorf("gemini: got %s; want %s", got, want)
			}
		})
	}
}

func TestErrorBodyFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Error
		d    Dialect
		want string
	}{
		{"openai param and code", Error{Status: 400, Param: "model", Code: "invalid_type", Message: "Bad."}, DialectOpenAI,
			`{"error":{"message":"Bad.","type":"invalid_request_error","param":"model","code":"invalid_type"}}`},
		{"openai code only", Error{Status: 404, Code: "model_not_found", Message: "No such model."}, DialectOpenAI,
			`{"error":{"message":"No such model.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`},
		{"openai param only", Error{Status: 400, Param: "messages", Message: "x"}, DialectOpenAI,
			`{"error":{"message":"x","type":"invalid_request_error","param":"messages","code":null}}`},
		{"openai explicit type wins", Error{Status: 429, Type: "tokens", Code: "rate_limit_exceeded", Message: "Slow down."}, DialectOpenAI,
			`{"error":{"message":"Slow down.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`},
		{"zero dialect is openai", Error{Status: 401, Code: "invalid_api_key", Message: "Incorrect API key provided."}, Dialect(0),
			`{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`},
		{"anthropic ignores the OpenAI type, param and code", Error{Status: 429, Type: "tokens", Param: "p", Code: "c", Message: "Slow down."}, DialectAnthropic,
			`{"type":"error","error":{"type":"rate_limit_error","message":"Slow down."}}`},
		{"gemini ignores the OpenAI type, param and code", Error{Status: 404, Type: "x", Param: "p", Code: "c", Message: "Not here."}, DialectGemini,
			`{"error":{"code":404,"message":"Not here.","status":"NOT_FOUND"}}`},
		{"message escaped", Error{Status: 400, Message: "a \"quoted\" <b>\n\\"}, DialectAnthropic,
			`{"type":"error","error":{"type":"invalid_request_error","message":"a \"quoted\" \u003cb\u003e\n\\"}}`},
		{"empty message", Error{Status: 500}, DialectGemini,
			`{"error":{"code":500,"message":"","status":"INTERNAL"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.e.Body(tc.d))
			if got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestErrorError(t *testing.T) {
	e := &Error{Status: 400, Code: "invalid_type", Message: "Invalid type for 'model': expected a string."}
	if got, want := e.Error(), "providers: 400 invalid_type: Invalid type for 'model': expected a string."; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	var err error = fmt.Errorf("decode: %w", e)
	if got, ok := errors.AsType[*Error](err); !ok || got != e {
		t.Errorf("errors.AsType[*Error] = %v, %v; want the wrapped *Error", got, ok)
	}
}

func TestWriteError(t *testing.T) {
	e := &Error{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded", Message: "Slow down."}
	for _, d := range []Dialect{DialectOpenAI, DialectAnthropic, DialectGemini} {
		t.Run(d.String(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			h := rec.Header()
			h.Set("Retry-After", "7")
			h.Set("X-Ratelimit-Remaining-Requests", "0")
			h.Set("Content-Type", "text/plain") // replaced
			h.Set("Content-Length", "12345")    // stale: removed
			WriteError(rec, d, e)
			res := rec.Result()
			if res.StatusCode != http.StatusTooManyRequests {
				t.Errorf("status = %d; want 429", res.StatusCode)
			}
			want := http.Header{
				"Retry-After":                    {"7"},
				"X-Ratelimit-Remaining-Requests": {"0"},
				"Content-Type":                   {"application/json"},
				"X-Content-Type-Options":         {"nosniff"},
			}
			if diff := cmp.Diff(want, res.Header); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if got, want := rec.Body.String(), string(e.Body(d)); got != want {
				t.Errorf("body = %s; want %s", got, want)
			}
		})
	}
}

// timeoutError is a net.Error whose Timeout is configurable.
type timeoutError struct{ timeout bool }

func (e timeoutError) Error() string   { return "i/o something" }
func (e timeoutError) Timeout() bool   { return e.timeout }
func (e timeoutError) Temporary() bool { return false }

func TestUpstreamError(t *testing.T) {
	const secretURL = "https://upstream.example/v1/chat/completions?key=SECRET-9d2f"
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: secretURL, Err: err} }
	for _, tc := range []struct {
		name    string
		err     error
		timeout bool
	}{
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}), false},
		{"tls failure", urlErr(errors.New("tls: failed to verify certificate")), false},
		{"context canceled", urlErr(context.Canceled), false},
		{"bare canceled", context.Canceled, false},
		{"deadline in url.Error", urlErr(context.DeadlineExceeded), true},
		{"bare deadline", context.DeadlineExceeded, true},
		{"wrapped deadline", fmt.Errorf("reading body: %w", context.DeadlineExceeded), true},
		{"net.Error timeout", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: timeoutError{true}}), true},
		{"net.Error not a timeout", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: timeoutError{false}}), false},
		{"bare net.Error timeout", timeoutError{true}, true},
		{"plain error", errors.New("EOF"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ue := NewUpstreamError("acme", tc.err)
			if ue.Timeout != tc.timeout {
				t.Errorf("Timeout = %v; want %v", ue.Timeout, tc.timeout)
			}
			if ue.Provider != "acme" {
				t.Errorf("Provider = %q; want acme", ue.Provider)
			}
			if !errors.Is(ue, tc.err) {
				t.Errorf("errors.Is(ue, err) = false; want the cause reachable through Unwrap")
			}
			wantMsg := "providers: acme: upstream unreachable"
			wantStatus, wantCode := http.StatusBadGateway, "upstream_unavailable"
			if tc.timeout {
				wantMsg = "providers: acme: upstream timed out"
				wantStatus, wantCode = http.StatusGatewayTimeout, "upstream_timeout"
			}
			if got := ue.Error(); got != wantMsg {
				t.Errorf("Error() = %q; want %q", got, wantMsg)
			}
			ce := ue.ClientError()
			if ce.Status != wantStatus || ce.Code != wantCode {
				t.Errorf("ClientError() = %d %q; want %d %q", ce.Status, ce.Code, wantStatus, wantCode)
			}
			for _, s := range []string{ue.Error(), ce.Error(), string(ce.Body(DialectOpenAI)), fmt.Sprintf("%v %+v", ue, ue)} {
				for _, leak := range []string{"SECRET", "key=", "upstream.example", "?"} {
					if strings.Contains(s, leak) {
						t.Errorf("%q contains %q", s, leak)
					}
				}
			}
		})
	}
}

// TestUpstreamErrorFromClient classifies the errors a real http.Client
// returns, whose messages carry the request URL with its query.
func TestUpstreamErrorFromClient(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release) // runs first: the server may not notice the client left
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name    string
		url     string
		client  *http.Client
		ctx     func() (context.Context, context.CancelFunc)
		timeout bool
	}{
		{"context deadline", hang.URL + "/v1/chat?key=SECRET-1", hang.Client(),
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			}, true},
		{"client timeout", hang.URL + "/v1/chat?key=SECRET-1", &http.Client{Timeout: 20 * time.Millisecond},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, true},
		{"refused", "http://" + closedAddr + "/v1/chat?key=SECRET-1", &http.Client{},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tc.url, strings.NewReader("{}"))
			resp, err := tc.client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("Do succeeded; want an error")
			}
			if !strings.Contains(err.Error(), "SECRET-1") {
				t.Fatalf("test premise: the client's error %q should carry the URL", err)
			}
			ue := NewUpstreamError("acme", err)
			if ue.Timeout != tc.timeout {
				t.Errorf("Timeout = %v for %v; want %v", ue.Timeout, err, tc.timeout)
			}
			if strings.Contains(ue.Error(), "SECRET") || strings.Contains(ue.Error(), closedAddr) {
				t.Errorf("Error() = %q leaks the URL", ue.Error())
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   bool
	}{
		{200, false}, {201, false}, {301, false},
		{400, false}, {401, false}, {402, false}, {403, false}, {404, false},
		{408, true}, {409, true}, {413, false}, {422, false}, {429, true}, {499, false},
		{500, true}, {501, false}, {502, true}, {503, true}, {504, true}, {529, true},
	} {
		if got := Retryable(tc.status); got != tc.want {
			t.Errorf("Retryable(%d) = %v; want %v", tc.status, got, tc.want)
		}
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[Dialect]string{
		DialectOpenAI: "openai", DialectAnthropic: "anthropic", DialectGemini: "gemini", 0: "unknown", 99: "unknown",
	} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q; want %q", d, got, want)
		}
	}
}

// TestNewTransport sits here with the other upstream-failure tests: the
// transport's time-outs are what turn into UpstreamErrors. By default it
// is the HTTP/1.1 transport with net/http's as the fallback for proxied
// hosts; HTTP2 makes it net/http's.
func TestNewTransport(t *testing.T) {
	type settings struct {
		MaxIdleConnsPerHost, MaxIdleConns                           int
		ResponseHeaderTimeout, TLSHandshakeTimeout, IdleConnTimeout time.Duration
		ForceAttemptHTTP2                                           bool
		MinTLS                                                      uint16
	}
	get := func(tr *http.Transport) settings {
		return settings{tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout,
			tr.IdleConnTimeout, tr.ForceAttemptHTTP2, tr.TLSClientConfig.MinVersion}
	}
	getH1 := func(o h1.Options) settings {
		return settings{o.MaxIdleConnsPerHost, 4 * o.MaxIdleConnsPerHost, o.ResponseHeaderTimeout, o.TLSHandshakeTimeout,
			o.IdleConnTimeout, true, o.TLSConfig.MinVersion}
	}
	defaults := settings{512, 2048, 10 * time.Minute, 10 * time.Second, 90 * time.Second, true, tls.VersionTLS12}
	for _, tc := range []struct {
		name string
		opts TransportOptions
		want settings
	}{
		{"zero", TransportOptions{}, defaults},
		{"negative means default", TransportOptions{MaxIdleConnsPerHost: -1, ResponseHeaderTimeout: -time.Second}, defaults},
		{"set", TransportOptions{MaxIdleConnsPerHost: 8, ResponseHeaderTimeout: time.Minute, TLSHandshakeTimeout: time.Second, IdleConnTimeout: 5 * time.Second},
			settings{8, 32, time.Minute, time.Second, 5 * time.Second, true, tls.VersionTLS12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, ok := NewTransport(&tc.opts).(*h1.Transport)
			if !ok {
				t.Fatalf("NewTransport(%+v) is not the HTTP/1.1 transport", tc.opts)
			}
			o := fast.Options()
			if diff := cmp.Diff(tc.want, getH1(o)); diff != "" {
				t.Errorf("HTTP/1.1 transport (-want +got):\n%s", diff)
			}
			std, ok := o.Fallback.(*http.Transport)
			if !ok || o.Delegate == nil {
				t.Fatalf("fallback %T, delegate set %v; want net/http's Transport for proxied hosts", o.Fallback, o.Delegate != nil)
			}
			if diff := cmp.Diff(tc.want, get(std)); diff != "" {
				t.Errorf("fallback (-want +got):\n%s", diff)
			}
			tc.opts.HTTP2 = true
			std, ok = NewTransport(&tc.opts).(*http.Transport)
			if !ok {
				t.Fatalf("with HTTP2: not net/http's Transport")
			}
			if diff := cmp.Diff(tc.want, get(std)); diff != "" {
				t.Errorf("with HTTP2 (-want +got):\n%s", diff)
			}
			if std.DialContext == nil || std.Proxy == nil {
				t.Errorf("DialContext or Proxy not set")
			}
		})
	}
	if _, ok := NewTransport(nil).(*h1.Transport); !ok {
		t.Errorf("NewTransport(nil) is not the HTTP/1.1 transport")
	}
}
