package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
	// Name identifies the upstream in events and logs. Default "anthropic".
	Name string
	// BaseURL is the API root that the endpoint paths "/messages" and
	// "/messages/count_tokens" are appended to. It must be an http(s) URL
	// without credentials, query or fragment. Default
	// "https://api.anthropic.com/v1".
	BaseURL string
	// APIKey is the upstream credential, sent as x-api-key. Empty sends
	// none (a proxy that adds its own).
	APIKey redact.Secret
	// Version is the anthropic-version header sent with every request.
	// Default "2023-06-01".
	Version string
	// Header holds extra headers for every upstream request, such as an
	// anthropic-beta the operator enables for all calls (the client's own
	// anthropic-beta values are added to it).
	Header http.Header
	// Client sends the requests. Default: an *http.Client over
	// providers.NewTransport(nil), with no overall time-out.
	Client *http.Client
	// IdleTimeout ends a call whose upstream sends nothing for this long
	// once its body has begun, streams included (the wait for the status
	// line is the transport's ResponseHeaderTimeout). Default 2 minutes.
	IdleTimeout time.Duration
}

// Provider is an Anthropic Messages API upstream: it passes
// Anthropic-dialect calls through (see Send) and sends canonical ones
// (see SendCanon). It is safe for concurrent use.
type Provider struct {
	name    string
	base    string
	key     redact.Secret
	version string
	client  *http.Client
	idle    time.Duration
	up      uplink.Client
}

// Interfaces the provider implements.
var _ providers.CanonSender = (*Provider)(nil)

// New returns a Provider for the upstream opts describes. It fails, naming
// the field, for a BaseURL that is not an http(s) URL or carries
// credentials, a query or a fragment, and for an APIKey or Version that
// cannot stand in a header.
func New(opts *Options) (*Provider, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	p := &Provider{name: o.Name, base: strings.TrimRight(o.BaseURL, "/"), key: o.APIKey, version: o.Version,
		client: o.Client, idle: o.IdleTimeout}
	header := make(http.Header, len(o.Header))
	for k, vs := range o.Header {
		for _, v := range vs {
			header.Add(k, v) // canonical keys, whatever the map literal said
		}
	}
	if p.name == "" {
		p.name = "anthropic"
	}
	if p.base == "" {
		p.base = "https://api.anthropic.com/v1"
	}
	u, err := url.Parse(p.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(p.base, "#") {
		return nil, fmt.Errorf("anthropic: provider %q: BaseURL must be an http(s) URL without credentials, query or fragment", p.name)
	}
	if p.version == "" {
		p.version = "2023-06-01"
	}
	if !headerValue(p.version) {
		return nil, fmt.Errorf("anthropic: provider %q: Version holds characters a header cannot carry", p.name)
	}
	if !headerValue(p.key.Reveal()) {
		return nil, fmt.Errorf("anthropic: provider %q: APIKey holds characters a header cannot carry", p.name)
	}
	if p.client == nil {
		p.client = &http.Client{Transport: providers.NewTransport(nil)}
	}
	if p.idle <= 0 {
		p.idle = 2 * time.Minute
	}
	p.up = uplink.Client{Name: p.name, Prefix: "anthropic", HTTP: p.client, Header: header, Idle: p.idle}
	return p, nil
}

// headerValue reports whether s may be sent as a header value: no control
// characters but tab.
func headerValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return p.name }

// Dialect implements providers.Provider.
func (p *Provider) Dialect() providers.Dialect { return providers.DialectAnthropic }

var paths = map[providers.Endpoint]string{
	providers.EndpointChat:        "/messages",
	providers.EndpointCountTokens: "/messages/count_tokens",
}

// Send implements providers.Provider for Anthropic-dialect calls to the
// messages and count_tokens endpoints: the client's body is sent as it
// is, but for the model, rewritten to call.UpstreamModel, and for
// max_tokens, set to call.EnforceMaxOutput when the gateway must cap a
// message that set no cap. The client's anthropic-beta values are sent
// along. The answer is relayed byte for byte (see Relay).
func (p *Provider) Send(ctx context.Context, call *providers.Call) (providers.Response, error) {
	if call.Dialect != providers.DialectAnthropic {
		return nil, fmt.Errorf("anthropic: provider %q: no translation from the %s dialect", p.name, call.Dialect)
	}
	target, err := p.target(call)
	if err != nil {
		return nil, err
	}
	return p.do(ctx, call, target, upstreamBody(call))
}

// do posts body to target for call and returns the response once its
// status and headers have arrived, with its idle timer running.
func (p *Provider) do(ctx context.Context, call *providers.Call, target string, body []byte) (*response, error) {
	r := &response{p: p, call: call}
	stream := call.Stream && call.Endpoint == providers.EndpointChat
	err := p.up.Post(ctx, &r.Exchange, target, body, stream, func(h http.Header) {
		if call.Header != nil {
			if betas := call.Header.Values(headerBeta); len(betas) > 0 {
				// A new slice: the operator's values are shared by every call.
				h.Set(headerBeta, strings.Join(slices.Concat(h.Values(headerBeta), betas), ","))
			}
		}
		if !p.key.IsZero() {
			h.Set("X-Api-Key", p.key.Reveal())
		}
		h.Set("Anthropic-Version", p.version)
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
// Anthropic does not serve.
func (p *Provider) target(call *providers.Call) (string, error) {
	if path, ok := paths[call.Endpoint]; ok {
		return p.base + path, nil
	}
	return "", fmt.Errorf("anthropic: provider %q: endpoint %s not supported", p.name, call.Endpoint)
}

// upstreamBody returns the body to send: the client's, with the model
// rewritten, and with max_tokens set when the gateway must enforce a cap
// on a message that set none.
func upstreamBody(call *providers.Call) []byte {
	body := call.Body
	if call.UpstreamModel != call.Model && call.ModelEnd > call.ModelStart {
		body = jsonx.Replace(body, call.ModelStart, call.ModelEnd, appendString(nil, call.UpstreamModel))
	}
	if call.Endpoint == providers.EndpointChat && call.EnforceMaxOutput > 0 && call.MaxOutputTokens == 0 {
		n := strconv.AppendInt(nil, call.EnforceMaxOutput, 10)
		if _, start, end, ok := jsonx.Get(body, "max_tokens"); ok {
			body = jsonx.Replace(body, start, end, n) // a null cap
		} else {
			body = jsonx.AppendMember(body, "max_tokens", n)
		}
	}
	return body
}

// relayHeaders picks the upstream response headers fit for the client: its
// content type, the stream headers for an event stream, and the length of
// a plain body. Never the upstream's anthropic-ratelimit-* headers, which
// describe the gateway's account, nor its request-id.
func relayHeaders(resp *http.Response) http.Header {
	h := make(http.Header, 4)
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		h.Set("Content-Type", ct)
	}
	if uplink.IsEventStream(resp) {
		sse.SetHeaders(h)
	} else if resp.ContentLength >= 0 && !resp.Uncompressed {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	return h
}
