package wicket_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

const upstreamSecret = "sk-upstream-secret-123"

// received is what a test upstream saw of one request.
type received struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// upstream is an httptest server that records what it receives and
// answers with the test's handler.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newUpstream(t testing.TB, h func(w http.ResponseWriter, r *http.Request, body []byte)) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		u.mu.Unlock()
		h(w, r, body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.reqs...)
}

// provider returns an OpenAI-dialect provider for the upstream.
func (u *upstream) provider(t testing.TB, name string) providers.Provider {
	t.Helper()
	p, err := openai.New(&openai.Options{Name: name, BaseURL: u.srv.URL + "/v1", APIKey: redact.NewSecret(upstreamSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// env is a gateway in front of test upstreams, served over real HTTP.
type env struct {
	gw       *wicket.Gateway
	srv      *httptest.Server
	km       *keys.Manager
	key      string
	rec      *keys.Record
	mu       sync.Mutex
	outcomes []metering.Event
	outcome  chan metering.Event
}

func newEnv(t testing.TB, models []providers.Model, tweak func(*wicket.Config)) *env {
	t.Helper()
	h, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	router, err := providers.NewRouter(models, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{km: km, outcome: make(chan metering.Event, 64)}
	cfg := wicket.Config{Keys: km, Router: router, OnEvent: func(_ context.Context, o metering.Event) {
		e.mu.Lock()
		e.outcomes = append(e.outcomes, o)
		e.mu.Unlock()
		select {
		case e.outcome <- o:
		default: // tests that make many requests read e.outcomes instead
		}
	}}
	if tweak != nil {
		tweak(&cfg)
	}
	e.gw, err = wicket.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.gw)
	t.Cleanup(e.srv.Close)
	e.key, e.rec, err = km.Issue(context.Background(), keys.Spec{Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// post sends body to path with the env's key.
func (e *env) post(t testing.TB, path, body string) *http.Response {
	t.Helper()
	return e.do(t, "POST", path, body, map[string]string{"Authorization": "Bearer " + e.key})
}

func (e *env) do(t testing.TB, method, path, body string, header map[string]string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// single returns one model served by one provider.
func single(name string, p providers.Provider, upstreamModel string, aliases ...string) []providers.Model {
	return []providers.Model{{Name: name, Aliases: aliases, Deployments: []providers.Deployment{{Provider: p, Model: upstreamModel}}}}
}

func keysSpec(owner string, models ...string) keys.Spec {
	return keys.Spec{Owner: owner, Scopes: keys.Scopes{Models: models}}
}

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// panicProvider panics in Send, to test the chain's recovery.
type panicProvider struct{}

func (panicProvider) Name() string               { return "panic" }
func (panicProvider) Dialect() providers.Dialect { return providers.DialectOpenAI }
func (panicProvider) Send(context.Context, *providers.Call) (providers.Response, error) {
	panic("provider bug")
}

func nowish() time.Time { return time.Now() }

// ownerBudget returns a Config.BudgetScopes that charges each call to its
// key's owner's budget, as budget(owner) gives it (none when the limit is
// zero).
func ownerBudget(budget func(owner string) (int64, metering.Period)) func(context.Context, *keys.Record, string, []metering.Account) ([]metering.Account, error) {
	return func(_ context.Context, rec *keys.Record, _ string, accounts []metering.Account) ([]metering.Account, error) {
		if limit, period := budget(rec.Owner); limit > 0 {
			accounts = append(accounts, metering.Account{Kind: metering.AccountOwner, ID: rec.Owner, Limit: limit, Period: period})
		}
		return accounts, nil
	}
}
