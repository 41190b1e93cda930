package gemini

import (
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
	// Name identifies the upstream in events and logs. Default "gemini".
	Name string
	// BaseURL is the API root that "/models/{model}:{method}" is appended
	// to. Default "https://generativelanguage.googleapis.com/v1beta". It
	// must be an http(s) URL without credentials, query or fragment.
	BaseURL string
	// APIKey is the upstream credential, sent in the x-goog-api-key header
	// only, never in the URL (where proxies and logs would see it). Empty
	// sends no credential.
	APIKey redact.Secret
	// Header holds extra headers for every upstream request.
	Header http.Header
	// Client sends the requests. Default: an *http.Client over
	// providers.NewTransport(nil), with no overall time-out.
	Client *http.Client
	// IdleTimeout ends a call whose upstream sends nothing for this long
	// once its body has begun, streams included (the wait for the status
	// line is the transport's ResponseHeaderTimeout). Default 2 minutes.
	IdleTimeout time.Duration
}

// Provider is a Gemini API upstream: generateContent,
// streamGenerateContent (always asked for as server-sent events, alt=sse)
// and countTokens. It implements providers.Provider and
// providers.CanonSender, and is safe for concurrent use.
type Provider struct {
	name   string
	base   string
	key    redact.Secret
	client *http.Client
	idle   time.Duration
	up     uplink.Client
}

// New returns a Provider for the upstream opts describes, or an error
// naming the option at fault.
func New(opts *Options) (*Provider, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	p := &Provider{name: o.Name, base: strings.TrimRight(o.BaseURL, "/"), key: o.APIKey,
		client: o.Client, idle: o.IdleTimeout}
	if p.name == "" {
		p.name = "gemini"
	}
	if p.base == "" {
		p.base = "https://generativelanguage.googleapis.com/v1beta"
	}
	u, err := url.Parse(p.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(p.base, "#") {
		return nil, fmt.Errorf("gemini: provider %q: BaseURL must be an http(s) URL without credentials, query or fragment", p.name)
	}
	if p.client == nil {
		p.client = &http.Client{Transport: providers.NewTransport(nil)}
	}
	if p.idle <= 0 {
		p.idle = 2 * time.Minute
	}
	p.up = uplink.Client{Name: p.name, Prefix: "gemini", HTTP: p.client, Header: o.Header.Clone(), Idle: p.idle,
		MaxEventSize: maxChunk}
	return p, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return p.name }

// Dialect implements providers.Provider.
func (p *Provider) Dialect() providers.Dialect { return providers.DialectGemini }

// Send implements providers.Provider for calls of Gemini clients
// (generateContent, streamGenerateContent, countTokens). The body goes
// upstream as the client sent it but for two things: a model named in the
// body (the top-level model of GenerateContentRequest, the
// generateContentRequest.model of countTokens) is set to the deployment's
// model, so that it cannot differ from the one in the path; and when the
// gateway must enforce an output cap the request did not set,
// generationConfig.maxOutputTokens is set (generationConfig created if
// absent). Streams are always asked for as server-sent events; Relay
// writes them in the form the client asked for.
func (p *Provider) Send(ctx context.Context, call *providers.Call) (providers.Response, error) {
	if call.Dialect != providers.DialectGemini {
		return nil, fmt.Errorf("gemini: provider %q: no translation from the %s dialect", p.name, call.Dialect)
	}
	target, err := p.target(call)
	if err != nil {
		return nil, err
	}
	return p.do(ctx, call, target, upstreamBody(call))
}

// target returns the URL for call: base/models/{model}:{method}, with
// ?alt=sse for streams.
func (p *Provider) target(call *providers.Call) (string, error) {
	if call.UpstreamModel == "" {
		return "", fmt.Errorf("gemini: provider %q: no upstream model", p.name)
	}
	u := p.base + "/models/" + url.PathEscape(call.UpstreamModel)
	switch {
	case call.Endpoint == providers.EndpointChat && call.Stream:
		return u + ":" + actionStream + "?alt=sse", nil
	case call.Endpoint == providers.EndpointChat:
		return u + ":" + actionGenerate, nil
	case call.Endpoint == providers.EndpointCountTokens:
		return u + ":" + actionCount, nil
	}
	return "", fmt.Errorf("gemini: provider %q: endpoint %s not supported", p.name, call.Endpoint)
}

// do posts body to target for call and returns the response once its
// status and headers have arrived, with its idle timer running.
func (p *Provider) do(ctx context.Context, call *providers.Call, target string, body []byte) (*response, error) {
	r := &response{p: p, call: call}
	stream := call.Stream && call.Endpoint == providers.EndpointChat
	err := p.up.Post(ctx, &r.Exchange, target, body, stream, func(h http.Header) {
		if !p.key.IsZero() {
			h.Set("X-Goog-Api-Key", p.key.Reveal())
		}
		if call.Propagate != nil {
			call.Propagate(ctx, h)
		}
	})
	if err != nil {
		return nil, err
	}
	r.header = relayHeaders(r.Response, call)
	return r, nil
}

// upstreamBody returns the body to send for call (see Send).
func upstreamBody(call *providers.Call) []byte {
	body := call.Body
	name := quote("models/" + call.UpstreamModel)
	switch call.Endpoint {
	case providers.EndpointChat:
		if _, s, e, ok := jsonx.Get(body, "model"); ok {
			body = jsonx.Replace(body, s, e, name)
		}
		if call.EnforceMaxOutput > 0 && call.MaxOutputTokens == 0 {
			body = setCap(body, call.EnforceMaxOutput)
		}
	case providers.EndpointCountTokens:
		if _, s, e, ok := jsonx.Get(body, "model"); ok {
			body = jsonx.Replace(body, s, e, name)
		}
		for _, k := range []string{"generateContentRequest", "generate_content_request"} {
			if g, s, e, ok := jsonx.Get(body, k); ok && len(g) > 0 && g[0] == '{' {
				if _, ms, me, ok := jsonx.Get(g, "model"); ok {
					body = jsonx.Replace(body, s, e, jsonx.Replace(g, ms, me, name))
				}
			}
		}
	}
	return body
}

// setCap sets generationConfig.maxOutputTokens to n in body, under the
// spelling the body already uses, replacing a zero or null value, and
// creating generationConfig if it is absent or null.
func setCap(body []byte, n int64) []byte {
	num := []byte(strconv.FormatInt(n, 10))
	for _, k := range []string{"generationConfig", "generation_config"} {
		gc, s, e, ok := jsonx.Get(body, k)
		if !ok {
			continue
		}
		if len(gc) == 0 || gc[0] != '{' { // null
			return jsonx.Replace(body, s, e, capObject(num))
		}
		for _, mk := range []string{"maxOutputTokens", "max_output_tokens"} {
			if _, ms, me, ok := jsonx.Get(gc, mk); ok {
				return jsonx.Replace(body, s, e, jsonx.Replace(gc, ms, me, num))
			}
		}
		return jsonx.Replace(body, s, e, jsonx.AppendMember(gc, "maxOutputTokens", num))
	}
	return jsonx.AppendMember(body, "generationConfig", capObject(num))
}

func capObject(num []byte) []byte {
	return append(append([]byte(`{"maxOutputTokens":`), num...), '}')
}

// quote returns s as a JSON string.
func quote(s string) []byte {
	b, _ := marshal(s)
	return b
}

// relayHeaders picks the upstream response headers fit for the client:
// the content type (and the length of a plain body), or for a stream the
// headers of its form: server-sent events, or a JSON array written as it
// comes. Nothing else: Google's server, quota and tracing headers describe
// the gateway's account, not the client's.
func relayHeaders(resp *http.Response, call *providers.Call) http.Header {
	h := make(http.Header, 4)
	if streamed(resp) {
		sse.SetHeaders(h)
		if call.ArrayStream {
			h.Set("Content-Type", "application/json; charset=UTF-8")
		}
		return h
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		h.Set("Content-Type", ct)
	}
	if resp.ContentLength >= 0 && !resp.Uncompressed {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	return h
}

// streamed reports whether resp is a successful stream of server-sent
// events, which Relay forwards event by event.
func streamed(resp *http.Response) bool {
	return resp.StatusCode < 300 && uplink.IsEventStream(resp)
}
