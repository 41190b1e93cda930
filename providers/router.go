package providers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

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
}

// RouterOptions configures a Router. A nil *RouterOptions means defaults.
type RouterOptions struct {
	// MaxAttempts caps upstream attempts per request, fallbacks and
	// retries included. Default 3.
	MaxAttempts int
}

// Router maps public model names to deployments. It is immutable after
// NewRouter and safe for concurrent use.
type Router struct {
	exact       map[string]*route
	patterns    []*route // longest pattern first
	listed      []ModelInfo
	maxAttempts int
}

type route struct {
	pattern string
	model   Model
	next    atomic.Uint64
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
	r := &Router{exact: map[string]*route{}, maxAttempts: 3}
	if opts != nil && opts.MaxAttempts > 0 {
		r.maxAttempts = opts.MaxAttempts
	}
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
		}
		if m.MaxOutputTokens < 0 {
			return nil, fmt.Errorf("providers: model %q has a negative MaxOutputTokens", m.Name)
		}
		if m.OwnedBy == "" {
			m.OwnedBy = m.Deployments[0].Provider.Name()
		}
		rt := &route{model: m}
		for _, name := range append([]string{m.Name}, m.Aliases...) {
			if name == "" {
				return nil, fmt.Errorf("providers: model %q has an empty alias", m.Name)
			}
			if strings.Contains(name, "*") {
				if slices.ContainsFunc(r.patterns, func(p *route) bool { return p.pattern == name }) {
					return nil, fmt.Errorf("providers: pattern %q given twice", name)
				}
				r.patterns = append(r.patterns, &route{pattern: name, model: m})
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
	if rt.model.Strategy == RoundRobin {
		start = int((rt.next.Add(1) - 1) % uint64(len(deps)))
	}
	return Plan{Public: model, MaxOutputTokens: rt.model.MaxOutputTokens, deps: deps, start: start, n: max(r.maxAttempts, 1)}, nil
}

// Models lists the exact public names and aliases, sorted. Patterns are
// not listed.
func (r *Router) Models() []ModelInfo { return slices.Clone(r.listed) }
