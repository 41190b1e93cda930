package sdkcheck_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openaisdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
)

// upstreamName is the provider name of the HTTP upstream, shown as the
// models' owned_by.
const upstreamName = "fake-upstream"

// options configure a harness. The zero value serves every fake model over
// HTTP with no limits and the default prices.
type options struct {
	// inProcess serves the models with fake.NewProvider instead of
	// fake.Handler behind an httptest.Server and providers/openai.
	inProcess bool
	// fake configures the fake model.
	fake fake.Options
	// limits are the gateway's default per-key limits.
	limits ratelimit.Limits
	// prices is Config.Prices; nil means the defaults.
	prices *metering.PriceTable
	// maxAttempts is the Router's MaxAttempts; zero means its default.
	maxAttempts int
	// translated makes the HTTP upstream claim another dialect, so that
	// every call goes through the canonical form and back.
	translated bool
}

// harness is a wicket gateway served by httptest, with its models served
// by the fake.
type harness struct {
	url  string
	srv  *httptest.Server
	keys *keys.Manager

	// upstream counts the requests that reached the fake over HTTP.
	upstream atomic.Int64

	mu sync.Mutex
	// retryCounts holds the X-Stainless-Retry-Count header of each request
	// that reached the gateway, in order.
	retryCounts []string
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	h := &harness{}
	var p providers.Provider
	if o.inProcess {
		p = fake.NewProvider(&o.fake)
	} else {
		fh := fake.Handler(&o.fake)
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.upstream.Add(1)
			fh.ServeHTTP(w, r)
		}))
		t.Cleanup(up.Close)
		var err error
		op, err := openai.New(&openai.Options{Name: upstreamName, BaseURL: up.URL + "/v1", Client: up.Client()})
		if err != nil {
			t.Fatalf("openai.New: %v", err)
		}
		p = op
		if o.translated {
			p = otherDialect{op}
		}
	}
	var models []providers.Model
	for _, name := range fake.Models {
		models = append(models, providers.Model{Name: name, Deployments: []providers.Deployment{{Provider: p}}})
	}
	router, err := providers.NewRouter(models, &providers.RouterOptions{MaxAttempts: o.maxAttempts})
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: []byte(strings.Repeat("s", keys.MinSecretLen))})
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	h.keys, err = keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	gw, err := wicket.New(wicket.Config{
		Keys:         h.keys,
		Router:       router,
		Limits:       o.limits,
		Prices:       o.prices,
		RetryBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatalf("wicket.New: %v", err)
	}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.retryCounts = append(h.retryCounts, r.Header.Get("X-Stainless-Retry-Count"))
		h.mu.Unlock()
		gw.ServeHTTP(w, r)
	}))
	h.url = h.srv.URL
	t.Cleanup(func() {
		h.srv.Close()
		if err := gw.Close(context.Background()); err != nil {
			t.Errorf("Gateway.Close: %v", err)
		}
	})
	return h
}

// issue issues a key for spec and returns its plaintext.
func (h *harness) issue(t *testing.T, spec keys.Spec) string {
	t.Helper()
	if spec.Owner == "" {
		spec.Owner = "sdkcheck"
	}
	key, _, err := h.keys.Issue(t.Context(), spec)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return key
}

// client returns an SDK client that calls the gateway with key; opts come
// after the harness's own.
func (h *harness) client(key string, opts ...option.RequestOption) openaisdk.Client {
	base := []option.RequestOption{
		option.WithBaseURL(h.url + "/v1/"),
		option.WithAPIKey(key),
		option.WithHTTPClient(h.srv.Client()),
	}
	return openaisdk.NewClient(append(base, opts...)...)
}

// gatewayRequests returns the X-Stainless-Retry-Count headers of the
// requests the gateway received so far.
func (h *harness) gatewayRequests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.retryCounts...)
}

// noRetries turns the SDK's retries off, for tests that check an error or
// count requests.
var noRetries = option.WithMaxRetries(0)

// apiError returns err as the SDK's *openai.Error, failing the test if it
// is not one.
func apiError(t *testing.T, err error) *openaisdk.Error {
	t.Helper()
	if err == nil {
		t.Fatal("got no error; want an *openai.Error")
	}
	var apiErr *openaisdk.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got error %v (%T); want an *openai.Error", err, err)
	}
	return apiErr
}

// upstreams are the two ways the tests reach the fake: over HTTP through
// the OpenAI provider (the real pass-through path), and in-process.
var upstreams = []struct {
	name string
	o    options
}{
	{"http", options{}},
	{"in-process", options{inProcess: true}},
}
