package wicket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"time"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redact"
)

// DefaultMaxBodyBytes is the request body cap when Config.MaxBodyBytes is
// zero: room for long prompts and a few inline images.
const DefaultMaxBodyBytes = 8 << 20

// Config configures a Gateway. It is read once, by New.
type Config struct {
	// Keys verifies the callers' API keys. Required.
	Keys *keys.Manager
	// Router maps public model names to deployments. Required.
	Router *providers.Router
	// FrontDoors are the API dialects clients may speak, each serving its
	// own routes. Nil means every built-in one: openai.FrontDoor,
	// anthropic.FrontDoor and gemini.FrontDoor. A client of any door can
	// reach a deployment of any dialect: calls are translated where the
	// dialects differ.
	FrontDoors []providers.FrontDoor
	// Limits are the default per-key limits: requests and tokens per minute
	// and concurrent requests. A key's own Limits override each non-zero
	// field. Zero fields mean unlimited.
	Limits ratelimit.Limits
	// Limiter enforces Limits. Nil means an in-memory limiter
	// (ratelimit.New(nil)); pass a shared backend for a fleet, behind
	// ratelimit.Failover to choose, per limit, what happens when it fails:
	// keep limiting locally (the default) or refuse with 503.
	Limiter *ratelimit.Limiter
	// AuthThrottle blocks a client IP after repeated failed authentications
	// (credential stuffing): while it is blocked, only keys this process has
	// already verified and cached are served, and any other key is refused
	// with 429 before a store lookup. Nil means ratelimit.NewAuthThrottle(nil):
	// 10 failures within a minute block the address (an IPv6 /64) for 10
	// minutes. Admin shares it with the admin API. A throttle on a shared
	// backend (redisstore) applies its AuthThrottleOptions.FailMode when the
	// backend fails: open, it goes on with a local in-memory throttle;
	// closed, keys not cached are refused with 503. Keys this process has
	// verified and cached never wait on the throttle.
	AuthThrottle *ratelimit.AuthThrottle
	// DisableAuthThrottle turns the failed-auth throttle off.
	DisableAuthThrottle bool
	// Estimator estimates a request's tokens before the upstream answers,
	// for the tokens-per-minute limit. Nil means ratelimit.ByteEstimator{}:
	// body bytes / 4 plus the output cap.
	Estimator ratelimit.TokenEstimator
	// DefaultMaxOutputTokens is the output cap assumed for a request that
	// sets none, when its model has no MaxOutputTokens. Default 16384.
	DefaultMaxOutputTokens int64
	// MaxOutputTokens is the largest output cap a request may set; larger
	// ones are refused with 400, so that no estimate or worst-case cost
	// can overflow. Default 1,000,000.
	MaxOutputTokens int64
	// Now returns the current time, for budget retry-after and the per-key
	// usage counts. Default time.Now. (The failed-auth throttle and key
	// expiry take theirs from Keys, keys.Options.Now.)
	Now func() time.Time
	// Recorder receives one metering.Event per authenticated request,
	// streams and client disconnects included, through an asynchronous
	// metering.Meter that the gateway owns (Close flushes it). Nil means
	// no events are recorded.
	Recorder metering.Recorder
	// MeterOptions configure that Meter. Nil means its defaults.
	MeterOptions *metering.MeterOptions
	// Ledger keeps budgets and per-key spend. Nil means an in-memory
	// ledger whose reservations expire after 2 hours; pass a shared one for
	// a fleet, with a reservation lifetime longer than any call may last.
	// A ledger that fails answers 503 for keys with a budget (budgets fail
	// closed; wrap it in metering.NewFailoverLedger with FailOpen to
	// reserve locally instead) and lets calls of keys without one through,
	// untracked by the ledger (their metering events still carry the cost).
	Ledger metering.Ledger
	// Prices cost each call. Nil means metering.DefaultPrices().
	Prices *metering.PriceTable
	// BudgetScopes, if set, adds the budgets a call is charged to beyond
	// the key's own (keys.Record.Budget) and its model budgets
	// (Record.ModelBudgets): its owner's, team's or organisation's, looked
	// up in the application's own tables. It appends them to accounts and
	// returns the result. Each has a Kind of the application's choosing
	// (metering.AccountOwner, "team", "org"; never AccountKey or
	// AccountKeyModel), an ID, a Limit in micro-dollars (zero: spend is
	// tracked, never refused) and a Period. model is the public model the
	// call asked for, so that any scope may keep budgets per model; it is
	// empty when the admin API's usage view asks for every budget the key
	// may be charged to. It runs on every model call: keep it fast (cache
	// what it looks up).
	//
	// All of a call's budgets are reserved at once, settled together, and a
	// call that one of them cannot cover is refused with 429
	// insufficient_quota naming that budget by kind and ID; nothing stays
	// reserved against the others. An error refuses the call with 503.
	BudgetScopes func(ctx context.Context, rec *keys.Record, model string, accounts []metering.Account) ([]metering.Account, error)
	// UsageCacheSize bounds how many keys' request and token counts this
	// process keeps for KeyUsage. Default 10,000.
	UsageCacheSize int
	// MaxBodyBytes caps request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TrustedProxies are the addresses of reverse proxies in front of the
	// gateway, whose X-Forwarded-For entries are believed. Empty means the
	// client IP is the TCP peer's.
	TrustedProxies []netip.Prefix
	// Deadline bounds how long a request waits for its answer to start:
	// every attempt, back-off and fallback before the first byte reaches
	// the client. Past it the client gets 504 in its dialect (or the last
	// retryable upstream answer, if one came). Once the answer has
	// started, the upstream adapters' idle time-outs govern. A model's
	// own Deadline overrides it. Zero means none.
	Deadline time.Duration
	// MaxRetryAfter is the longest wait an upstream's retry-after (or
	// retry-after-ms) may impose within a request: before going back to
	// a deployment that asked for a pause, the gateway waits it out if it
	// is no longer than this and ends before the deadline, and otherwise
	// skips that deployment. Default 10s.
	MaxRetryAfter time.Duration
	// RetryBackoff is the pause before an attempt goes back to a
	// deployment that already failed this request; it doubles each round,
	// spread by a random jitter of ±50%. Default 250ms.
	RetryBackoff time.Duration
	// OnEvent, if set, is called once per authenticated request, after
	// the response is complete, with what happened: the same metering.Event
	// the Recorder receives, before the Meter cuts long identifiers. It runs on the
	// request's goroutine: keep it quick. A panic in it is recovered and
	// logged.
	OnEvent func(ctx context.Context, e metering.Event)
	// OnAttempt, if set, is called after each upstream attempt, with where
	// it went, why, and what came of it (identifiers only). It runs on the
	// request's goroutine: keep it quick. A panic in it is recovered and
	// logged. Cool-downs are reported by providers.RouterOptions.OnCoolDown.
	OnAttempt func(ctx context.Context, a Attempt)
	// OnAttemptStart, if set, is called before each upstream attempt with
	// where it goes and why (the Attempt's outcome fields are zero). The
	// context it returns, which must derive from ctx, is the one the
	// attempt runs under: its upstream call, Propagate and OnAttempt see
	// it, so that a tracer can start a span per attempt there. Nil keeps
	// ctx. It runs on the request's goroutine; a panic in it is recovered
	// and logged, and ctx kept.
	OnAttemptStart func(ctx context.Context, a Attempt) context.Context
	// Propagate, if set, is called with every upstream request's headers,
	// after the provider's own, and the attempt's context (see
	// OnAttemptStart), to add headers such as W3C trace context. It must
	// not set credentials, and must be safe for concurrent use.
	Propagate func(ctx context.Context, h http.Header)
	// OnUpstreamRefusal, if set, is called when an upstream refuses the
	// gateway's own credential (401 or 403): the caller's key was fine, so
	// the caller gets 502 with a generic message, the refusing provider is
	// not tried again for that request (other deployments still are), and
	// the operator must fix or rotate the credential. It runs on the
	// request's goroutine; a panic in it is recovered and logged. The event
	// is also logged at error level.
	OnUpstreamRefusal func(ctx context.Context, r UpstreamRefusal)
	// Abuse, if set, watches each key for signs that it leaked or is
	// misused (package abuse) and acts on them as its Policy says:
	// suspending the key or capping its limits for a cool-off. Nil means no
	// abuse signals.
	Abuse *AbuseConfig
	// Logger receives operational events (upstream failures, panics) and
	// one access record per request (at Info), with identifiers only. The
	// gateway always wraps it in redact.NewHandler, which drops
	// credential- and content-bearing attributes and masks key-shaped
	// values. Nil means silent.
	Logger *slog.Logger
}

// Gateway is an AI API gateway as an http.Handler. It serves the routes of
// its front doors (Config.FrontDoors; see openai.FrontDoor,
// anthropic.FrontDoor and gemini.FrontDoor).
//
// Its steps (Guard, Authenticate, Limit, Decode, Authorize, Reserve,
// Forward, in that order) are also available on their own for applications
// that mount them in their own router. A Gateway is safe for concurrent
// use.
type Gateway struct {
	cfg       Config
	handler   http.Handler
	limiter   *ratelimit.Limiter
	throttle  *ratelimit.AuthThrottle
	estimator ratelimit.TokenEstimator
	ledger    metering.Ledger
	// remoteLedger is set when the ledger is not the in-process one, so
	// that its calls are round trips worth overlapping.
	remoteLedger bool
	// finishWaits is set when ending a request may wait: on another
	// process (a shared ledger or limiter) or on the application's code
	// (OnEvent; abuse signals, their audit events and OnSignal). relay
	// then flushes a stream's end first; so it does while the access log
	// is on (tailWaits).
	finishWaits bool
	prices      *metering.PriceTable
	meter       *metering.Meter // nil without a Recorder
	usage       *usageCounters
	doors       []providers.FrontDoor
	doorOf      func(path string) providers.FrontDoor
	abuse       *abuseGuard // nil without Config.Abuse
}

// dialectOf returns the dialect of the front door a path falls under.
func (g *Gateway) dialectOf(path string) providers.Dialect { return g.doorOf(path).Dialect() }

// New validates cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.Keys == nil {
		return nil, errors.New("wicket: Config.Keys is required")
	}
	if cfg.Router == nil {
		return nil, errors.New("wicket: Config.Router is required")
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("wicket: Config.Limits: %w", err)
	}
	if cfg.MaxBodyBytes < 0 || cfg.RetryBackoff < 0 || cfg.Deadline < 0 {
		return nil, errors.New("wicket: Config.MaxBodyBytes, RetryBackoff and Deadline must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 250 * time.Millisecond
	}
	if cfg.MaxRetryAfter < 0 {
		return nil, errors.New("wicket: Config.MaxRetryAfter must not be negative")
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 10 * time.Second
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("wicket: Config.TrustedProxies holds an invalid prefix")
		}
	}
	if cfg.DefaultMaxOutputTokens < 0 {
		return nil, errors.New("wicket: Config.DefaultMaxOutputTokens must not be negative")
	}
	if cfg.DefaultMaxOutputTokens == 0 {
		cfg.DefaultMaxOutputTokens = 16384
	}
	if cfg.MaxOutputTokens < 0 {
		return nil, errors.New("wicket: Config.MaxOutputTokens must not be negative")
	}
	if cfg.MaxOutputTokens == 0 {
		cfg.MaxOutputTokens = 1_000_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler) // wrapped once: no nil checks per call
	}
	// Whatever reaches the application's logger passes the redacting
	// handler: no Authorization, key or content-bearing attribute, and
	// key-shaped values masked, whoever logs them.
	cfg.Logger = slog.New(redact.NewHandler(cfg.Logger.Handler(), &redact.HandlerOptions{KeyPrefixes: []string{cfg.Keys.Format().Prefix()}}))
	g := &Gateway{cfg: cfg, limiter: cfg.Limiter, throttle: cfg.AuthThrottle, estimator: cfg.Estimator, doors: cfg.FrontDoors}
	if len(g.doors) == 0 {
		g.doors = []providers.FrontDoor{openai.FrontDoor{}, anthropic.FrontDoor{}, gemini.FrontDoor{}}
	}
	g.doorOf = doorFinder(g.doors)
	var err error
	if g.limiter == nil {
		if g.limiter, err = ratelimit.New(&ratelimit.Options{Logger: cfg.Logger}); err != nil {
			return nil, fmt.Errorf("wicket: limiter: %w", err)
		}
	}
	if g.throttle == nil && !cfg.DisableAuthThrottle {
		if g.throttle, err = ratelimit.NewAuthThrottle(nil); err != nil {
			return nil, fmt.Errorf("wicket: auth throttle: %w", err)
		}
	}
	if g.estimator == nil {
		g.estimator = ratelimit.ByteEstimator{}
	}
	g.ledger, g.prices = cfg.Ledger, cfg.Prices
	if g.ledger == nil {
		// Reservations live for the longest call the gateway expects; a
		// stream that outlives it would stop holding its budget.
		if g.ledger, err = metering.NewMemoryLedger(&metering.MemoryLedgerOptions{TTL: 2 * time.Hour}); err != nil {
			return nil, fmt.Errorf("wicket: ledger: %w", err)
		}
	}
	_, local := g.ledger.(*metering.MemoryLedger)
	g.remoteLedger = !local
	g.finishWaits = g.remoteLedger || !g.limiter.Local() || cfg.OnEvent != nil || cfg.Abuse != nil
	if g.prices == nil {
		g.prices = metering.DefaultPrices()
	}
	if cfg.UsageCacheSize <= 0 {
		cfg.UsageCacheSize = 10_000
	}
	g.usage = newUsageCounters(cfg.UsageCacheSize)
	if cfg.Abuse != nil {
		if g.abuse, err = newAbuseGuard(g, cfg.Abuse); err != nil {
			return nil, err
		}
	}
	if cfg.Recorder != nil {
		if g.meter, err = metering.NewMeter(cfg.Recorder, cfg.MeterOptions); err != nil {
			return nil, fmt.Errorf("wicket: meter: %w", err)
		}
	}

	mux := http.NewServeMux()
	patterns := map[string]bool{}
	for _, door := range g.doors {
		for _, rt := range door.Routes() {
			if patterns[rt.Pattern()] {
				return nil, fmt.Errorf("wicket: Config.FrontDoors: route %q served twice", rt.Pattern())
			}
			patterns[rt.Pattern()] = true
			if rt.Endpoint == providers.EndpointModels {
				mux.Handle(rt.Pattern(), g.models(door, rt))
				continue
			}
			mux.Handle(rt.Pattern(), g.Decode(door, rt)(g.Authorize()(g.Reserve()(g.Forward()))))
		}
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		if s := stateFrom(r.Context()); s != nil {
			s.outcome.ErrorClass = metering.ClassInvalidRequest
		}
		fail(w, r, &providers.Error{Status: http.StatusNotFound, Code: "unknown_url", Message: "Unknown request URL or method."})
	}
	mux.HandleFunc("/", notFound)
	// An API never redirects: ServeMux would answer a path that is not in
	// canonical form (//v1//chat/completions, /v1/../x) with a 307.
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isCleanPath(r.URL.Path) {
			notFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	guard := Guard(GuardOptions{MaxBodyBytes: cfg.MaxBodyBytes, TrustedProxies: cfg.TrustedProxies, Logger: cfg.Logger, Now: cfg.Now, Dialect: g.dialectOf})
	g.handler = guard(g.Authenticate()(g.Limit()(routes)))
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// MeterStats returns the counters of the metering queue the gateway owns
// (see Config.Recorder): events recorded, retried, dropped and failed,
// and the queue's depth now. It is zero without a Recorder, and safe to
// call at any time.
func (g *Gateway) MeterStats() metering.MeterStats { return g.meter.Stats() }

// Close flushes the metering events still queued to the Recorder and stops
// the Meter's goroutine. It returns when they are delivered, or with ctx's
// error when ctx ends first. Stop serving requests (http.Server.Shutdown)
// before calling it.
func (g *Gateway) Close(ctx context.Context) error {
	if g.meter == nil {
		return nil
	}
	return g.meter.Close(ctx)
}

// isCleanPath reports whether p is in the canonical form ServeMux serves
// without redirecting: rooted, no empty, "." or ".." elements.
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}
