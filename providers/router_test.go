package providers

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stubProvider is a Provider that only has a name; routing never sends.
type stubProvider struct{ name string }

func (p stubProvider) Name() string     { return p.name }
func (p stubProvider) Dialect() Dialect { return DialectOpenAI }
func (p stubProvider) Send(context.Context, *Call) (Response, error) {
	return nil, errors.New("stub: not sending")
}

func dep(provider, model string) Deployment {
	return Deployment{Provider: stubProvider{provider}, Model: model}
}

// planNames returns the deployment names of every attempt in p.
func planNames(p Plan) []string {
	var names []string
	for i := range p.Len() {
		names = append(names, p.At(i).Name)
	}
	return names
}

func mustRouter(t *testing.T, models []Model, opts *RouterOptions) *Router {
	t.Helper()
	r, err := NewRouter(models, opts)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r
}

func TestRouterRoute(t *testing.T) {
	models := []Model{
		// Patterns come first here so that declaration order cannot be
		// what makes exact names and longer patterns win.
		{Name: "*", Deployments: []Deployment{{Name: "catch-all", Provider: stubProvider{"p"}}}},
		{Name: "gpt-*", Deployments: []Deployment{{Name: "gpt-family", Provider: stubProvider{"p"}}}},
		{Name: "gpt-4o-*", Aliases: []string{"*-preview"}, Deployments: []Deployment{{Name: "gpt-4o-family", Provider: stubProvider{"p"}}}},
		{Name: "gpt-4o", Aliases: []string{"4o", "omni"}, Deployments: []Deployment{{Name: "gpt-4o-exact", Provider: stubProvider{"p"}}}},
		{Name: "claude", Deployments: []Deployment{{Name: "claude-exact", Provider: stubProvider{"p"}}}},
	}
	r := mustRouter(t, models, nil)
	for _, tc := range []struct {
		model string
		want  string // deployment name at attempt 0
	}{
		{"gpt-4o", "gpt-4o-exact"},               // exact beats "gpt-4o-*", "gpt-*" and "*"
		{"4o", "gpt-4o-exact"},                   // alias
		{"omni", "gpt-4o-exact"},                 // alias
		{"claude", "claude-exact"},               // exact beats "*"
		{"gpt-4o-mini", "gpt-4o-family"},         // longest pattern: "gpt-4o-*" over "gpt-*"
		{"gpt-4o-", "gpt-4o-family"},             // '*' matches the empty run
		{"gpt-3.5-turbo", "gpt-family"},          // "gpt-*" over "*"
		{"gpt-4", "gpt-family"},                  // "gpt-4o-*" does not match
		{"gpt-4-preview", "gpt-4o-family"},       // pattern alias "*-preview" (9 bytes) beats "gpt-*" (5)
		{"llama-3", "catch-all"},                 // only "*" matches
		{"GPT-4O", "catch-all"},                  // names are case-sensitive
		{"claude ", "catch-all"},                 // no trimming
		{"gpt-4o-mini-preview", "gpt-4o-family"}, // both patterns of one model match
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, err := r.Route(tc.model)
			if err != nil {
				t.Fatalf("Route(%q): %v", tc.model, err)
			}
			if got := p.At(0).Name; got != tc.want {
				t.Errorf("Route(%q).At(0).Name = %q; want %q", tc.model, got, tc.want)
			}
			if p.Public != tc.model {
				t.Errorf("Route(%q).Public = %q; want %q", tc.model, p.Public, tc.model)
			}
		})
	}
}

func TestRouterLongestPatternWinsWhateverTheOrder(t *testing.T) {
	short := Model{Name: "a*", Deployments: []Deployment{{Name: "short", Provider: stubProvider{"p"}}}}
	long := Model{Name: "abc*", Deployments: []Deployment{{Name: "long", Provider: stubProvider{"p"}}}}
	for _, tc := range []struct {
		name   string
		models []Model
	}{
		{"short first", []Model{short, long}},
		{"long first", []Model{long, short}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRouter(t, tc.models, nil)
			for model, want := range map[string]string{"abcd": "long", "abc": "long", "abd": "short", "a": "short"} {
				p, err := r.Route(model)
				if err != nil {
					t.Fatalf("Route(%q): %v", model, err)
				}
				if got := p.At(0).Name; got != want {
					t.Errorf("Route(%q) = %q; want %q", model, got, want)
				}
			}
		})
	}
}

func TestRouterUnknownModel(t *testing.T) {
	withCatchAll := mustRouter(t, []Model{
		{Name: "*", Deployments: []Deployment{dep("p", "")}},
	}, nil)
	exactOnly := mustRouter(t, []Model{
		{Name: "gpt-4o", Aliases: []string{"4o"}, Deployments: []Deployment{dep("p", "")}},
		{Name: "gpt-*", Deployments: []Deployment{dep("p", "")}},
	}, nil)
	for _, tc := range []struct {
		name  string
		r     *Router
		model string
	}{
		{"empty refused even by a catch-all", withCatchAll, ""},
		{"empty", exactOnly, ""},
		{"unknown", exactOnly, "claude"},
		{"prefix of an exact name", exactOnly, "4"},
		{"pattern prefix without the dash", exactOnly, "gpt"},
		{"case differs", exactOnly, "GPT-4o"},
		{"alias with suffix", exactOnly, "4o-mini"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.r.Route(tc.model)
			if !errors.Is(err, ErrUnknownModel) {
				t.Fatalf("Route(%q) error = %v; want ErrUnknownModel", tc.model, err)
			}
			if p.Len() != 0 {
				t.Errorf("Route(%q).Len() = %d; want 0 with an error", tc.model, p.Len())
			}
		})
	}
}

func TestNewRouterRefuses(t *testing.T) {
	ok := []Deployment{dep("p", "")}
	for _, tc := range []struct {
		name   string
		models []Model
	}{
		{"empty name", []Model{{Name: "", Deployments: ok}}},
		{"no deployments", []Model{{Name: "m"}}},
		{"empty deployments", []Model{{Name: "m", Deployments: []Deployment{}}}},
		{"deployment without provider", []Model{{Name: "m", Deployments: []Deployment{dep("p", ""), {Model: "x"}}}}},
		{"duplicate names", []Model{{Name: "m", Deployments: ok}, {Name: "m", Deployments: ok}}},
		{"alias repeats its own name", []Model{{Name: "m", Aliases: []string{"m"}, Deployments: ok}}},
		{"alias repeats another name", []Model{{Name: "a", Deployments: ok}, {Name: "b", Aliases: []string{"a"}, Deployments: ok}}},
		{"name repeats another alias", []Model{{Name: "a", Aliases: []string{"b"}, Deployments: ok}, {Name: "b", Deployments: ok}}},
		{"alias given twice", []Model{{Name: "a", Aliases: []string{"x", "x"}, Deployments: ok}}},
		{"empty alias", []Model{{Name: "a", Aliases: []string{""}, Deployments: ok}}},
		{"duplicate patterns", []Model{{Name: "gpt-*", Deployments: ok}, {Name: "gpt-*", Deployments: ok}}},
		{"pattern alias repeats a pattern", []Model{{Name: "*", Deployments: ok}, {Name: "m", Aliases: []string{"*"}, Deployments: ok}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRouter(tc.models, nil)
			if err == nil {
				t.Fatalf("NewRouter succeeded; want an error")
			}
			if r != nil {
				t.Errorf("NewRouter returned a Router with error %v; want nil", err)
			}
		})
	}
}

func TestNewRouterAcceptsEmpty(t *testing.T) {
	r := mustRouter(t, nil, nil)
	if _, err := r.Route("x"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Route on an empty router: got %v; want ErrUnknownModel", err)
	}
	if got := r.Models(); len(got) != 0 {
		t.Errorf("Models() = %v; want none", got)
	}
}

func TestDeploymentDefaults(t *testing.T) {
	models := []Model{
		{Name: "gpt-4o", Deployments: []Deployment{
			dep("openai", "gpt-4o-2024-08-06"),
			dep("azure", ""),
			{Name: "mine", Provider: stubProvider{"groq"}, Model: "llama"},
		}},
		{Name: "gpt-*", Deployments: []Deployment{dep("openai", "")}},
	}
	r := mustRouter(t, models, &RouterOptions{MaxAttempts: 3})
	for _, tc := range []struct {
		model string
		names []string
	}{
		{"gpt-4o", []string{"openai/gpt-4o-2024-08-06", "azure/gpt-4o", "mine"}},
		// A pattern's default name is built from the pattern, not from
		// the name a request asked for.
		{"gpt-5", []string{"openai/gpt-*", "openai/gpt-*", "openai/gpt-*"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, err := r.Route(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.names, planNames(p)); diff != "" {
				t.Errorf("deployment names (-want +got):\n%s", diff)
			}
		})
	}
	// NewRouter fills the defaults in its own copy.
	if got := models[0].Deployments[0].Name; got != "" {
		t.Errorf("NewRouter changed the caller's Deployment.Name to %q; want it left empty", got)
	}
}

func TestPlanAttempts(t *testing.T) {
	abc := []Deployment{{Name: "a", Provider: stubProvider{"p"}}, {Name: "b", Provider: stubProvider{"p"}}, {Name: "c", Provider: stubProvider{"p"}}}
	for _, tc := range []struct {
		name string
		opts *RouterOptions
		deps []Deployment
		want []string
	}{
		{"nil options: 3 attempts", nil, abc, []string{"a", "b", "c"}},
		{"zero MaxAttempts: 3 attempts", &RouterOptions{}, abc, []string{"a", "b", "c"}},
		{"negative MaxAttempts: 3 attempts", &RouterOptions{MaxAttempts: -2}, abc, []string{"a", "b", "c"}},
		{"one attempt", &RouterOptions{MaxAttempts: 1}, abc, []string{"a"}},
		{"cycles when attempts outnumber deployments", &RouterOptions{MaxAttempts: 7}, abc, []string{"a", "b", "c", "a", "b", "c", "a"}},
		{"single deployment retried", nil, abc[:1], []string{"a", "a", "a"}},
		{"two deployments", &RouterOptions{MaxAttempts: 4}, abc[:2], []string{"a", "b", "a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRouter(t, []Model{{Name: "m", Deployments: tc.deps}}, tc.opts)
			p, err := r.Route("m")
			if err != nil {
				t.Fatal(err)
			}
			if p.Len() != len(tc.want) {
				t.Errorf("Len() = %d; want %d", p.Len(), len(tc.want))
			}
			if p.Deployments() != len(tc.deps) {
				t.Errorf("Deployments() = %d; want %d", p.Deployments(), len(tc.deps))
			}
			if diff := cmp.Diff(tc.want, planNames(p)); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrategyOrdered(t *testing.T) {
	r := mustRouter(t, []Model{{
		Name: "m", Aliases: []string{"alias"},
		Deployments: []Deployment{{Name: "a", Provider: stubProvider{"p"}}, {Name: "b", Provider: stubProvider{"p"}}},
	}}, nil)
	for i := range 5 {
		for _, name := range []string{"m", "alias"} {
			p, err := r.Route(name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"a", "b", "a"}, planNames(p)); diff != "" {
				t.Errorf("call %d, Route(%q) (-want +got):\n%s", i, name, diff)
			}
		}
	}
}

func TestStrategyRoundRobin(t *testing.T) {
	deps := []Deployment{{Name: "a", Provider: stubProvider{"p"}}, {Name: "b", Provider: stubProvider{"p"}}, {Name: "c", Provider: stubProvider{"p"}}}
	r := mustRouter(t, []Model{
		{Name: "rr", Aliases: []string{"rr-alias"}, Deployments: deps, Strategy: RoundRobin},
		{Name: "other", Deployments: deps, Strategy: RoundRobin},
	}, nil)
	route := func(name string) []string {
		t.Helper()
		p, err := r.Route(name)
		if err != nil {
			t.Fatal(err)
		}
		return planNames(p)
	}
	for i, want := range [][]string{
		{"a", "b", "c"},
		{"b", "c", "a"},
		{"c", "a", "b"},
		{"a", "b", "c"},
	} {
		if diff := cmp.Diff(want, route("rr")); diff != "" {
			t.Errorf("call %d (-want +got):\n%s", i, diff)
		}
	}
	// Another model keeps its own turn.
	if diff := cmp.Diff([]string{"a", "b", "c"}, route("other")); diff != "" {
		t.Errorf("other model's first call (-want +got):\n%s", diff)
	}
	// An alias is the same model: it continues the rotation.
	if diff := cmp.Diff([]string{"b", "c", "a"}, route("rr-alias")); diff != "" {
		t.Errorf("alias after four calls (-want +got):\n%s", diff)
	}
}

func TestStrategyRoundRobinPattern(t *testing.T) {
	deps := []Deployment{{Name: "a", Provider: stubProvider{"p"}}, {Name: "b", Provider: stubProvider{"p"}}}
	r := mustRouter(t, []Model{{Name: "llama-*", Deployments: deps, Strategy: RoundRobin}}, &RouterOptions{MaxAttempts: 2})
	// Every name the pattern matches takes the model's next turn.
	for i, tc := range []struct{ model, first string }{
		{"llama-8b", "a"}, {"llama-70b", "b"}, {"llama-8b", "a"}, {"llama-405b", "b"},
	} {
		p, err := r.Route(tc.model)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.At(0).Name; got != tc.first {
			t.Errorf("call %d, Route(%q).At(0) = %q; want %q", i, tc.model, got, tc.first)
		}
	}
}

func TestStrategyRoundRobinConcurrent(t *testing.T) {
	const (
		goroutines = 8
		perG       = 300
		nDeps      = 3
	)
	deps := []Deployment{{Name: "a", Provider: stubProvider{"p"}}, {Name: "b", Provider: stubProvider{"p"}}, {Name: "c", Provider: stubProvider{"p"}}}
	r := mustRouter(t, []Model{{Name: "rr", Deployments: deps, Strategy: RoundRobin}}, nil)
	var (
		mu     sync.Mutex
		starts = map[string]int{}
		wg     sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			local := map[string]int{}
			for range perG {
				p, err := r.Route("rr")
				if err != nil {
					t.Error(err)
					return
				}
				local[p.At(0).Name]++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range local {
				starts[k] += v
			}
		})
	}
	wg.Wait()
	// Every Route takes the next turn exactly once, so the starts are
	// spread exactly evenly whatever the interleaving.
	want := map[string]int{"a": goroutines * perG / nDeps, "b": goroutines * perG / nDeps, "c": goroutines * perG / nDeps}
	if diff := cmp.Diff(want, starts); diff != "" {
		t.Errorf("start counts (-want +got):\n%s", diff)
	}
}

func TestUpstreamModel(t *testing.T) {
	r := mustRouter(t, []Model{
		{Name: "fast", Aliases: []string{"quick"}, Deployments: []Deployment{dep("openai", "gpt-4o-mini"), dep("ollama", "")}},
		{Name: "llama-*", Deployments: []Deployment{dep("groq", "")}},
	}, &RouterOptions{MaxAttempts: 2})
	for _, tc := range []struct {
		model string
		want  []string
	}{
		{"fast", []string{"gpt-4o-mini", "fast"}},
		{"quick", []string{"gpt-4o-mini", "quick"}}, // the name the client used, alias included
		{"llama-3.1-70b", []string{"llama-3.1-70b", "llama-3.1-70b"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, err := r.Route(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range p.Len() {
				got = append(got, p.UpstreamModel(p.At(i)))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("upstream models (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouterModels(t *testing.T) {
	r := mustRouter(t, []Model{
		{Name: "zeta", Deployments: []Deployment{dep("openai", "")}},
		{Name: "gpt-*", Aliases: []string{"gpt"}, Deployments: []Deployment{dep("openai", "")}},
		{Name: "alpha", Aliases: []string{"beta", "*-beta"}, OwnedBy: "acme", Deployments: []Deployment{dep("groq", ""), dep("openai", "")}},
		{Name: "*", Deployments: []Deployment{dep("fake", "")}},
	}, nil)
	want := []ModelInfo{
		{ID: "alpha", OwnedBy: "acme"},
		{ID: "beta", OwnedBy: "acme"},
		{ID: "gpt", OwnedBy: "openai"},
		{ID: "zeta", OwnedBy: "openai"},
	}
	got := r.Models()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Models() (-want +got):\n%s", diff)
	}
	got[0].ID = "changed"
	_ = append(got[:1], ModelInfo{ID: "appended"})
	if diff := cmp.Diff(want, r.Models()); diff != "" {
		t.Errorf("Models() after changing an earlier result (-want +got):\n%s", diff)
	}
}

func TestRouterRouteAllocs(t *testing.T) {
	r := mustRouter(t, []Model{
		{Name: "m", Deployments: []Deployment{dep("p", "")}, Strategy: RoundRobin},
		{Name: "gpt-*", Deployments: []Deployment{dep("p", "")}},
	}, nil)
	for _, model := range []string{"m", "gpt-4o"} {
		allocs := testing.AllocsPerRun(100, func() {
			p, err := r.Route(model)
			if err != nil || p.At(0) == nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Route(%q) allocates %v times; want 0 (Plan documents that making one does not allocate)", model, allocs)
		}
	}
}
