package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/internal/sse"
	"github.com/wicket-gw/wicket/internal/uplink"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/redact"
)

// Options configures a Provider. A nil *Options, and every zero field,
// means the default documented on the field.
type Options struct {
	// Name identifies the upstream in events and logs. Default "openai".
	Name string
	// BaseURL is the API root that endpoint paths are appended to, such as
	// "https://api.groq.com/openai/v1". Default "https://api.openai.com/v1".
	// It must not carry a query string; use EndpointURL for upstreams that
	// need one.
	BaseURL string
	// APIKey is the upstream credential. Empty sends no credential (local
	// servers such as Ollama or vLLM).
	APIKey redact.Secret
	// AuthHeader is the header that carries APIKey. "Authorization" (the
	// default) sends "Bearer <key>"; any other name, such as Azure's
	// "api-key", sends the key alone.
	AuthHeader string
	// Header holds extra headers for every upstream request, such as
	// OpenAI-Organization or OpenAI-Project.
	Header http.Header
	// EndpointURL, if set, returns the full URL for an endpoint and
	// upstream model, for upstreams whose paths differ (Azure's
	// /openai/deployments/{name}/chat/completions?api-version=…). It is
	// never logged.
	EndpointURL func(e providers.Endpoint, model string) string
	// Client sends the requests. Default: an *http.Client over
	// providers.NewTransport(nil), with no overall time-out.
	Client *http.Client
	// IdleTimeout ends a call whose upstream sends nothing for this long
	// once its body has begun, streams included (the wait for the status
	// line is the transport's ResponseHeaderTimeout). Default 2 minutes.
	IdleTimeout time.Duration
	// ChatCapParam is the chat completions parameter the adapter adds when
	// the gateway must cap output (a budgeted key's request that set no
	// cap). Default "max_completion_tokens", as OpenAI's current models
	// require; set "max_tokens" for older OpenAI-compatible servers.
	ChatCapParam string
}

// Provider is an OpenAI-dialect upstream. It is safe for concurrent use.
type Provider struct {
	name string
	base string
	key  redact.Secret
	auth string
	// authValue is the credential header's value, made once and shared by
	// every request's headers (read only). It is behind a pointer so that
	// printing a Provider shows no key.
	authValue *[]string
	urlFor    func(providers.Endpoint, string) string
	urls      map[providers.Endpoint]string // base + path, made once
	capKey    string
	up        uplink.Client
}

// New returns a Provider for the upstream opts describes.
func New(opts *Options) (*Provider, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	p := &Provider{name: o.Name, base: strings.TrimRight(o.BaseURL, "/"), key: o.APIKey, auth: o.AuthHeader,
		urlFor: o.EndpointURL, capKey: o.ChatCapParam}
	if p.capKey == "" {
		p.capKey = "max_completion_tokens"
	}
	if p.name == "" {
		p.name = "openai"
	}
	if p.base == "" {
		p.base = "https://api.openai.com/v1"
	}
	u, err := url.Parse(p.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("openai: provider %q: BaseURL must be an http(s) URL without credentials or query", p.name)
	}
	if p.auth == "" {
		p.auth = "Authorization"
	}
	p.urls = make(map[providers.Endpoint]string, len(paths))
	for e, path := range paths {
		p.urls[e] = p.base + path
	}
	p.auth = http.CanonicalHeaderKey(p.auth)
	if !p.key.IsZero() {
		v := p.key.Reveal()
		if p.auth == "Authorization" {
			v = "Bearer " + v
		}
		shared := uplink.Shared(v)
		p.authValue = &shared
	}
	p.up = uplink.Client{Name: p.name, Prefix: "openai", HTTP: o.Client, Header: o.Header.Clone(), Idle: o.IdleTimeout}
	if p.up.HTTP == nil {
		p.up.HTTP = &http.Client{Transport: providers.NewTransport(nil)}
	}
	if p.up.Idle <= 0 {
		p.up.Idle = 2 * time.Minute
	}
	return p, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return p.name }

// Dialect implements providers.Provider.
func (p *Provider) Dialect() providers.Dialect { return providers.DialectOpenAI }

var paths = map[providers.Endpoint]string{
	providers.EndpointChat:       "/chat/completions",
	providers.EndpointEmbeddings: "/embeddings",
	providers.EndpointResponses:  "/responses",
}

// Send implements providers.Provider.
func (p *Provider) Send(ctx context.Context, call *providers.Call) (providers.Response, error) {
	if call.Dialect != providers.DialectOpenAI {
		return nil, fmt.Errorf("openai: provider %q: no translation from the %s dialect", p.name, call.Dialect)
	}
	target, err := p.target(call)
	if err != nil {
		return nil, err
	}
	body, injected := upstreamBody(call, p.capKey)
	r, err := p.do(ctx, call, target, body)
	if err != nil {
		return nil, err
	}
	r.injected = injected
	return r, nil
}

// do posts body to target for call and returns the response once its
// status and headers have arrived, with its idle timer running.
func (p *Provider) do(ctx context.Context, call *providers.Call, target string, body []byte) (*response, error) {
	r := &response{p: p, call: call}
	err := p.up.Post(ctx, &r.Exchange, target, body, call.Stream, func(h http.Header) {
		if p.authValue != nil {
			h[p.auth] = *p.authValue
		}
		if call.RequestID != "" {
			h.Set("X-Client-Request-Id", call.RequestID)
		}
		if call.Propagate != nil {
			call.Propagate(ctx, h)
		}
	})
	if err != nil {
		return nil, err
	}
	r.header = relayHeaders(r.Response)
	return r, nil
}

// target returns the URL for call's endpoint, or an error for an endpoint
// the upstream does not serve.
func (p *Provider) target(call *providers.Call) (string, error) {
	if p.urlFor != nil {
		return p.urlFor(call.Endpoint, call.UpstreamModel), nil
	}
	if u, ok := p.urls[call.Endpoint]; ok {
		return u, nil
	}
	return "", fmt.Errorf("openai: provider %q: endpoint %s not supported", p.name, call.Endpoint)
}

// upstreamBody returns the body to send: the client's, with the model
// rewritten; with an output cap added when the gateway must enforce one
// (capKey names it for chat); and, for a streamed chat completion that did
// not ask for usage, stream_options.include_usage set. injected reports
// the last.
func upstreamBody(call *providers.Call, capKey string) (body []byte, injected bool) {
	body = call.Body
	if call.UpstreamModel != call.Model && call.ModelEnd > call.ModelStart {
		body = jsonx.Replace(body, call.ModelStart, call.ModelEnd, quote(call.UpstreamModel))
	}
	if call.EnforceMaxOutput > 0 && call.MaxOutputTokens == 0 {
		n := []byte(strconv.FormatInt(call.EnforceMaxOutput, 10))
		switch call.Endpoint {
		case providers.EndpointChat:
			body = setMember(body, capKey, n) // replaces a null cap
		case providers.EndpointResponses:
			body = setMember(body, "max_output_tokens", n)
		}
	}
	if call.Stream && call.Endpoint == providers.EndpointChat && !call.IncludeUsage {
		injected = true
		if v, start, end, ok := jsonx.Get(body, "stream_options"); ok && !jsonx.IsNull(v) {
			body = jsonx.Replace(body, start, end, setMember(v, "include_usage", []byte("true")))
		} else {
			body = setMember(body, "stream_options", []byte(`{"include_usage":true}`))
		}
	}
	return body, injected
}

// setMember sets the top-level member name of the object in body to value,
// replacing it or adding it.
func setMember(body []byte, name string, value []byte) []byte {
	if _, start, end, ok := jsonx.Get(body, name); ok {
		return jsonx.Replace(body, start, end, value)
	}
	return jsonx.AppendMember(body, name, value)
}

func quote(s string) []byte {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.Bytes()
}

// relayHeaders picks the upstream response headers fit for the client.
//
// Values are the upstream header's own slices, shared (read only) rather
// than copied.
func relayHeaders(resp *http.Response) http.Header {
	h := make(http.Header, 4)
	if ct := resp.Header["Content-Type"]; len(ct) > 0 && ct[0] != "" {
		h["Content-Type"] = ct[:1:1]
	}
	if uplink.IsEventStream(resp) {
		sse.SetHeaders(h)
	} else if resp.ContentLength >= 0 && !resp.Uncompressed {
		if cl := resp.Header["Content-Length"]; len(cl) == 1 && sameInt(cl[0], resp.ContentLength) {
			h["Content-Length"] = cl[:1:1]
		} else {
			h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
	}
	if v := resp.Header["Openai-Processing-Ms"]; len(v) > 0 && v[0] != "" {
		h["Openai-Processing-Ms"] = v[:1:1]
	}
	return h
}

// sameInt reports whether s is n in decimal (a Content-Length value, which
// may be relayed as the upstream wrote it).
func sameInt(s string, n int64) bool {
	v, err := strconv.ParseInt(s, 10, 64)
	return err == nil && v == n
}
