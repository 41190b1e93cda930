package providers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/glob"
)

// Deployment is one place a model can be served: a provider (which holds
// the upstream's base URL and credential) and the upstream's model name.
type Deployment struct {
	// Name labels the deployment in events and logs. Default: the
	// provider's name, "/", and Model.
	Name string
	// Provider sends the calls. Required.
	Provider Provider
	// Model is the upstream's model name. Empty means the public name the
	// client asked for (useful with patterns).
	Model string
	// Weight is the deployment's share of the model's traffic under the
	// Weighted strategy, relative to the others' weights. Zero means 1.
	// Several deployments of one model on providers that hold different
	// credentials of one upstream make a key pool, each key with its share.
	Weight int

	health   *breaker // the deployment's cool-down state, set by NewRouter
	upstream *breaker // its provider's, shared by every deployment of the provider
}

// Strategy orders a model's deployments for one request.
type Strategy uint8

// Strategies.
const (
	// Ordered tries the deployments in the order given: the first serves,
	// the others are fallbacks.
	Ordered Strategy = iota
	// RoundRobin starts each request at the next deployment in turn,
	// spreading load; the others remain fallbacks.
	RoundRobin
	// Weighted starts each request at a deployment drawn at random in
	// proportion to the deployments' weights; the others remain
	// fallbacks, in the order given after it.
	Weighted
)

// Model maps public names to deployments.
type Model struct {
	// Name is the public model name, or a pattern in which '*' matches any
	// run of characters ("gpt-*", "*"). Exact names and aliases win over
	// patterns; among patterns, the longest wins. Required.
	Name string
	// Aliases are further public names for the same model.
	Aliases []string
	// Deployments serve the model, ordered by Strategy. At least one.
	Deployments []Deployment
	// Strategy orders the deployments per request. Default Ordered.
	Strategy Strategy
	// OwnedBy is shown in model listings. Default: the first deployment's
	// provider name.
	OwnedBy string
	// MaxOutputTokens is the most tokens the model generates in one answer:
	// what a request that sets no cap is assumed to use, for token limits
	// and budget reservations. Zero means the gateway's default.
	MaxOutputTokens int64
	// Deadline bounds how long a request for the model waits for its
	// answer to start, attempts and fallbacks included (see the gateway's
	// Config.Deadline, which it overrides). Zero means the gateway's.
	Deadline time.Duration
	// SameDialectOnly keeps the model's calls untranslated: a deployment
	// that speaks another dialect than the client's is skipped, so a
	// fallback chain may cross dialects only when this is false (the
	// default).
	SameDialectOnly bool
}

// RouterOptions configures a Router. A nil *RouterOptions means defaults.
type RouterOptions struct {
	// MaxAttempts caps upstream attempts per request, fallbacks and
	// retries included. Default 3.
	MaxAttempts int
	// CoolDown takes deployments and providers that keep failing out of
	// rotation for a while (see CoolDown). The zero value means its
	// defaults.
	CoolDown CoolDown
	// OnCoolDown, if set, is told when a deployment or a provider enters
	// or leaves a cool-down. It runs on the goroutine of the request whose
	// attempt caused it: keep it quick.
	OnCoolDown func(CoolDownEvent)
	// Now returns the current time, for cool-downs. Default time.Now.
	Now func() time.Time
}

// CoolDownEvent reports a deployment or a provider entering or leaving a
// cool-down. It carries names only.
type CoolDownEvent struct {
	// Deployment is the deployment's name when the deployment cools down;
	// empty when its provider does (every deployment of Provider).
	Deployment string
	// Provider is the provider's name.
	Provider string
	// Entered is true when the cool-down starts, false when a probe
	// succeeded and it ends.
	Entered bool
	// Until is when an entered cool-down ends (the next probe).
	Until time.Time
	// Cause is the failure that started it.
	Cause Failure
}

// Failure classifies a failed upstream attempt for cool-downs.
type Failure uint8

// Failures.
const (
	// FailureNone: the deployment answered (whatever the status, unless
	// one below).
	FailureNone Failure = iota
	// FailureModel: the deployment answered 429 or 5xx, or timed out. It
	// counts toward the deployment's cool-down.
	FailureModel
	// FailureUpstream: the provider could not be reached (connection
	// refused or reset, TLS, DNS). It counts toward the provider's
	// cool-down, which every deployment on it shares.
	FailureUpstream
	// FailureCredential: the upstream refused the provider's credential
	// (401, 403). The provider cools down at once: a refused key does not
	// heal by itself.
	FailureCredential
)

// String returns the failure's name.
func (f Failure) String() string {
	switch f {
	case FailureModel:
		return "model"
	case FailureUpstream:
		return "upstream"
	case FailureCredential:
		return "credential"
	}
	return "none"
}

// Router maps public model names to deployments. Its models are immutable
// after NewRouter; the cool-down state of deployments changes as attempts
// are reported. It is safe for concurrent use.
type Router struct {
	exact       map[string]*route
	patterns    []*route // longest pattern first
	listed      []ModelInfo
	maxAttempts int
	cool        CoolDown
	onCoolDown  func(CoolDownEvent)
	now         func() time.Time
}

type route struct {
	pattern string
	model   Model
	next    atomic.Uint64
	weights []uint64 // cumulative weights, for Weighted
}

// ModelInfo describes a listed model.
type ModelInfo struct {
	// ID is the public name.
	ID string
	// OwnedBy names the provider or organization.
	OwnedBy string
}

// ErrUnknownModel is returned by Route for a name no model matches.
var ErrUnknownModel = errors.New("providers: unknown model")

// NewRouter validates models and returns a Router.
func NewRouter(models []Model, opts *RouterOptions) (*Router, error) {
	r := &Router{exact: map[string]*route{}, maxAttempts: 3, now: time.Now}
	if opts != nil {
		if opts.MaxAttempts > 0 {
			r.maxAttempts = opts.MaxAttempts
		}
		r.cool, r.onCoolDown = opts.CoolDown, opts.OnCoolDown
		if opts.Now != nil {
			r.now = opts.Now
		}
	}
	r.cool = r.cool.withDefaults()
	type upstreamState struct {
		p Provider
		b *breaker
	}
	var upstreams []upstreamState // one breaker per provider, shared by its deployments
	for i, m := range models {
		if m.Name == "" {
			return nil, fmt.Errorf("providers: model %d has no name", i)
		}
		if len(m.Deployments) == 0 {
			return nil, fmt.Errorf("providers: model %q has no deployments", m.Name)
		}
		m.Deployments = slices.Clone(m.Deployments)
		for j := range m.Deployments {
			d := &m.Deployments[j]
			if d.Provider == nil {
				return nil, fmt.Errorf("providers: model %q deployment %d has no provider", m.Name, j)
			}
			if d.Name == "" {
				d.Name = d.Provider.Name() + "/" + cmpOr(d.Model, m.Name)
			}
			if d.Weight < 0 {
				return nil, fmt.Errorf("providers: model %q deployment %d has a negative Weight", m.Name, j)
			}
			d.health = &breaker{}
			i := slices.IndexFunc(upstreams, func(u upstreamState) bool { return SameProvider(u.p, d.Provider) })
			if i < 0 {
				upstreams = append(upstreams, upstreamState{d.Provider, &breaker{}})
				i = len(upstreams) - 1
			}
			d.upstream = upstreams[i].b
		}
		if m.Strategy > Weighted {
			return nil, fmt.Errorf("providers: model %q has an unknown Strategy", m.Name)
		}
		if m.MaxOutputTokens < 0 || m.Deadline < 0 {
			return nil, fmt.Errorf("providers: model %q has a negative MaxOutputTokens or Deadline", m.Name)
		}
		if m.OwnedBy == "" {
			m.OwnedBy = m.Deployments[0].Provider.Name()
		}
		rt := &route{model: m, weights: cumulativeWeights(m.Deployments)}
		for _, name := range append([]string{m.Name}, m.Aliases...) {
			if name == "" {
				return nil, fmt.Errorf("providers: model %q has an empty alias", m.Name)
			}
			if strings.Contains(name, "*") {
				if slices.ContainsFunc(r.patterns, func(p *route) bool { return p.pattern == name }) {
					return nil, fmt.Errorf("providers: pattern %q given twice", name)
				}
				r.patterns = append(r.patterns, &route{pattern: name, model: m, weights: rt.weights})
				continue
			}
			if _, dup := r.exact[name]; dup {
				return nil, fmt.Errorf("providers: model name %q given twice", name)
			}
			r.exact[name] = rt
			r.listed = append(r.listed, ModelInfo{ID: name, OwnedBy: m.OwnedBy})
		}
	}
	slices.SortStableFunc(r.patterns, func(a, b *route) int { return len(b.pattern) - len(a.pattern) })
	slices.SortFunc(r.listed, func(a, b ModelInfo) int { return strings.Compare(a.ID, b.ID) })
	return r, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Plan is the ordered list of attempts for one request. It is a small
// value; making one does not allocate.
type Plan struct {
	// Public is the public name the client asked for.
	Public string
	// MaxOutputTokens is the model's Model.MaxOutputTokens.
	MaxOutputTokens int64
	// Deadline and SameDialectOnly are the model's.
	Deadline        time.Duration
	SameDialectOnly bool
	deps            []Deployment
	start           int
	n               int
}

// Len returns the number of attempts the plan allows.
func (p Plan) Len() int { return p.n }

// At returns the deployment for attempt i (0 ≤ i < Len), cycling through
// the deployments when attempts outnumber them.
func (p Plan) At(i int) *Deployment { return &p.deps[(p.start+i)%len(p.deps)] }

// Deployments returns the number of distinct deployments in the plan.
func (p Plan) Deployments() int { return len(p.deps) }

// UpstreamModel returns the model name to send for deployment d.
func (p Plan) UpstreamModel(d *Deployment) string { return cmpOr(d.Model, p.Public) }

// Route returns the plan for a public model name, or ErrUnknownModel.
func (r *Router) Route(model string) (Plan, error) {
	rt, ok := r.exact[model]
	if !ok {
		for _, p := range r.patterns {
			if glob.Match(p.pattern, model) {
				rt, ok = p, true
				break
			}
		}
	}
	if !ok || model == "" {
		return Plan{}, ErrUnknownModel
	}
	deps := rt.model.Deployments
	start := 0
	switch rt.model.Strategy {
	case RoundRobin:
		start = int((rt.next.Add(1) - 1) % uint64(len(deps)))
	case Weighted:
		start = pickWeighted(rt.weights, rand.Uint64N(rt.weights[len(rt.weights)-1]))
	}
	return Plan{Public: model, MaxOutputTokens: rt.model.MaxOutputTokens, Deadline: rt.model.Deadline, SameDialectOnly: rt.model.SameDialectOnly,
		deps: deps, start: start, n: max(r.maxAttempts, 1)}, nil
}

// Models lists the exact public names and aliases, sorted. Patterns are
// not listed.
func (r *Router) Models() []ModelInfo { return slices.Clone(r.listed) }

// cumulativeWeights returns the running sums of the deployments' weights
// (zero counting as 1).
func cumulativeWeights(deps []Deployment) []uint64 {
	cum := make([]uint64, len(deps))
	var sum uint64
	for i, d := range deps {
		sum += uint64(max(d.Weight, 1))
		cum[i] = sum
	}
	return cum
}

// pickWeighted returns the index of the deployment whose share of the
// cumulative weights holds x, 0 ≤ x < the total.
func pickWeighted(cum []uint64, x uint64) int {
	i, _ := slices.BinarySearch(cum, x+1)
	return i
}

// SameProvider reports whether a and b are the same provider, without
// panicking on provider types that cannot be compared.
func SameProvider(a, b Provider) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// Available reports whether an attempt may be sent to d now: neither d
// nor its provider is cooling down. probe reports that the attempt ends a
// cool-down: report its outcome with Report, as for every attempt. d must
// come from a Plan of this Router.
func (r *Router) Available(d *Deployment) (ok, probe bool) {
	if r.cool.Disabled || d.health == nil {
		return true, false
	}
	now := r.now()
	okU, probeU := d.upstream.admit(now, &r.cool)
	if !okU {
		return false, false
	}
	okD, probeD := d.health.admit(now, &r.cool)
	if !okD {
		if probeU {
			d.upstream.release() // the provider's probe did not go
		}
		return false, false
	}
	return true, probeU || probeD
}

// CoolingUntil returns when d's cool-down (or its provider's) ends, or the
// zero time when d is in rotation.
func (r *Router) CoolingUntil(d *Deployment) time.Time {
	if r.cool.Disabled || d.health == nil {
		return time.Time{}
	}
	now := r.now()
	a, b := d.health.coolingUntil(now), d.upstream.coolingUntil(now)
	if a.Before(b) {
		return b
	}
	return a
}

// Report records the outcome of an attempt on d, which Available
// admitted: FailureNone for an answer, else the failure. It may start or
// end cool-downs, and tells RouterOptions.OnCoolDown.
func (r *Router) Report(d *Deployment, f Failure) {
	if r.cool.Disabled || d.health == nil {
		return
	}
	now := r.now()
	tell := func(deployment string, entered bool, until time.Time) {
		if r.onCoolDown != nil {
			r.onCoolDown(CoolDownEvent{Deployment: deployment, Provider: d.Provider.Name(), Entered: entered, Until: until, Cause: f})
		}
	}
	switch f {
	case FailureNone:
		if _, left, _ := d.upstream.report(now, false, &r.cool); left {
			tell("", false, time.Time{})
		}
		if _, left, _ := d.health.report(now, false, &r.cool); left {
			tell(d.Name, false, time.Time{})
		}
	case FailureModel:
		// An answer, even a failing one, shows the provider reachable.
		if _, left, _ := d.upstream.report(now, false, &r.cool); left {
			tell("", false, time.Time{})
		}
		if entered, _, until := d.health.report(now, true, &r.cool); entered {
			tell(d.Name, true, until)
		}
	case FailureUpstream:
		if entered, _, until := d.upstream.report(now, true, &r.cool); entered {
			tell("", true, until)
		}
	case FailureCredential:
		if until := d.upstream.tripNow(now, &r.cool); !until.IsZero() {
			tell("", true, until)
		}
	}
}
