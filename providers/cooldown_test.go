package providers

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestWeightedShares(t *testing.T) {
	weights := []int{1, 2, 3, 4}
	var deps []Deployment
	for i, w := range weights {
		d := dep("p", string(rune('a'+i)))
		d.Weight = w
		deps = append(deps, d)
	}
	r, err := NewRouter([]Model{{Name: "m", Deployments: deps, Strategy: Weighted}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const picks = 10_000
	counts := map[string]int{}
	for range picks {
		p, err := r.Route("m")
		if err != nil {
			t.Fatal(err)
		}
		counts[p.At(0).Name]++
		// The others stay fallbacks: every deployment once per round.
		seen := map[string]bool{}
		for i := range p.Deployments() {
			seen[p.At(i).Name] = true
		}
		if len(seen) != len(weights) {
			t.Fatalf("plan %v does not hold every deployment", planNames(p))
		}
	}
	for i, w := range weights {
		name := "p/" + string(rune('a'+i))
		share := float64(counts[name]) / picks
		if want := float64(w) / 10; math.Abs(share-want) > 0.02 {
			t.Errorf("%s served %.3f of the first attempts; want %.2f ± 0.02", name, share, want)
		}
	}
}

func TestWeightRefused(t *testing.T) {
	d := dep("p", "a")
	d.Weight = -1
	if _, err := NewRouter([]Model{{Name: "m", Deployments: []Deployment{d}}}, nil); err == nil {
		t.Error("NewRouter took a negative weight")
	}
	if _, err := NewRouter([]Model{{Name: "m", Deployments: []Deployment{dep("p", "a")}, Strategy: Weighted + 1}}, nil); err == nil {
		t.Error("NewRouter took an unknown strategy")
	}
}

// coolRouter returns a router of two models on provider p (m1 with
// deployments a and b on q, m2 with c on p) with a fake clock, recording
// cool-down events.
func coolRouter(t *testing.T) (*Router, *clock, *[]CoolDownEvent) {
	t.Helper()
	clk := newClock()
	var mu sync.Mutex
	var events []CoolDownEvent
	r, err := NewRouter([]Model{
		{Name: "m1", Deployments: []Deployment{dep("p", "a"), dep("q", "b")}},
		{Name: "m2", Deployments: []Deployment{dep("p", "c")}},
	}, &RouterOptions{
		Now:      clk.Now,
		CoolDown: CoolDown{Failures: 3, Window: 10 * time.Second, Period: 4 * time.Second, MaxPeriod: 10 * time.Second},
		OnCoolDown: func(e CoolDownEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, clk, &events
}

// deployment returns the first attempt of model's plan.
func deployment(t *testing.T, r *Router, model string, i int) *Deployment {
	t.Helper()
	p, err := r.Route(model)
	if err != nil {
		t.Fatal(err)
	}
	return p.At(i)
}

func TestCoolDownTripsProbesAndGrows(t *testing.T) {
	r, clk, events := coolRouter(t)
	a := deployment(t, r, "m1", 0)
	for i := range 2 {
		if ok, probe := r.Available(a); !ok || probe {
			t.Fatalf("failure %d: Available = %v, %v; want in rotation", i, ok, probe)
		}
		r.Report(a, FailureModel)
	}
	if ok, _ := r.Available(a); !ok {
		t.Fatal("two failures took the deployment out; want three")
	}
	r.Report(a, FailureModel)
	if ok, _ := r.Available(a); ok {
		t.Fatal("three failures within the window left the deployment in rotation")
	}
	if got, want := r.CoolingUntil(a), clk.Now().Add(4*time.Second); !got.Equal(want) {
		t.Errorf("CoolingUntil = %v; want %v", got, want)
	}
	// Its model failures do not touch the provider's other deployments.
	if ok, _ := r.Available(deployment(t, r, "m2", 0)); !ok {
		t.Error("a model's failures cooled its provider's other model down")
	}
	clk.Advance(4*time.Second - time.Nanosecond)
	if ok, _ := r.Available(a); ok {
		t.Fatal("available before its period ended")
	}
	clk.Advance(time.Nanosecond)
	if ok, probe := r.Available(a); !ok || !probe {
		t.Fatalf("at the period's end: Available = %v, %v; want one probe", ok, probe)
	}
	if ok, _ := r.Available(a); ok {
		t.Fatal("a second attempt went while the probe was out")
	}
	r.Report(a, FailureModel) // the probe fails: twice as long
	clk.Advance(8*time.Second - time.Nanosecond)
	if ok, _ := r.Available(a); ok {
		t.Fatal("available before the doubled period ended")
	}
	clk.Advance(time.Nanosecond)
	if ok, probe := r.Available(a); !ok || !probe {
		t.Fatal("no probe after the doubled period")
	}
	r.Report(a, FailureModel) // capped at MaxPeriod: 10s, not 16s
	clk.Advance(10 * time.Second)
	if ok, probe := r.Available(a); !ok || !probe {
		t.Fatal("no probe after MaxPeriod")
	}
	r.Report(a, FailureNone)
	for range 3 {
		if ok, probe := r.Available(a); !ok || probe {
			t.Fatal("not back in rotation after a successful probe")
		}
	}
	start := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	want := []CoolDownEvent{
		{Deployment: "p/a", Provider: "p", Entered: true, Until: start.Add(4 * time.Second), Cause: FailureModel},
		{Deployment: "p/a", Provider: "p", Entered: true, Until: start.Add(12 * time.Second), Cause: FailureModel},
		{Deployment: "p/a", Provider: "p", Entered: true, Until: start.Add(22 * time.Second), Cause: FailureModel},
		{Deployment: "p/a", Provider: "p", Entered: false, Cause: FailureNone},
	}
	if d := cmp.Diff(want, *events); d != "" {
		t.Errorf("cool-down events (-want +got):\n%s", d)
	}
}

func TestCoolDownWindow(t *testing.T) {
	r, clk, _ := coolRouter(t)
	a := deployment(t, r, "m1", 0)
	for range 10 { // two failures per window never trip
		r.Report(a, FailureModel)
		r.Report(a, FailureModel)
		clk.Advance(10 * time.Second)
	}
	if ok, _ := r.Available(a); !ok {
		t.Error("failures spread over windows tripped the cool-down")
	}
	r.Report(a, FailureModel)
	r.Report(a, FailureModel)
	r.Report(a, FailureNone) // a success starts the count again
	r.Report(a, FailureModel)
	if ok, _ := r.Available(a); !ok {
		t.Error("failures before a success counted")
	}
}

func TestCredentialTakesProviderOut(t *testing.T) {
	r, clk, events := coolRouter(t)
	a, b, c := deployment(t, r, "m1", 0), deployment(t, r, "m1", 1), deployment(t, r, "m2", 0)
	r.Report(a, FailureCredential)
	if ok, _ := r.Available(a); ok {
		t.Error("a refused credential left its deployment in rotation")
	}
	if ok, _ := r.Available(c); ok {
		t.Error("a refused credential left another deployment of its provider in rotation")
	}
	if ok, _ := r.Available(b); !ok {
		t.Error("another provider's deployment was taken out")
	}
	if len(*events) != 1 || (*events)[0].Deployment != "" || (*events)[0].Provider != "p" || (*events)[0].Cause != FailureCredential {
		t.Errorf("events %+v; want the provider p entering a cool-down for its credential", *events)
	}
	clk.Advance(4 * time.Second)
	if ok, probe := r.Available(c); !ok || !probe {
		t.Fatal("no probe of the provider after its period")
	}
	if ok, _ := r.Available(a); ok {
		t.Error("another deployment went while the provider's probe was out")
	}
	r.Report(c, FailureNone)
	if ok, _ := r.Available(a); !ok {
		t.Error("the provider's deployments are not back after its probe succeeded")
	}
}

func TestUpstreamFailuresCoolProvider(t *testing.T) {
	r, _, _ := coolRouter(t)
	a, c := deployment(t, r, "m1", 0), deployment(t, r, "m2", 0)
	for range 3 {
		r.Report(a, FailureUpstream)
	}
	if ok, _ := r.Available(c); ok {
		t.Error("an unreachable provider's other deployments stayed in rotation")
	}
}

func TestCoolDownDisabled(t *testing.T) {
	r, err := NewRouter([]Model{{Name: "m", Deployments: []Deployment{dep("p", "a")}}}, &RouterOptions{CoolDown: CoolDown{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := deployment(t, r, "m", 0)
	for range 10 {
		r.Report(a, FailureCredential)
		r.Report(a, FailureModel)
	}
	if ok, probe := r.Available(a); !ok || probe {
		t.Error("a disabled cool-down took the deployment out")
	}
}

// TestCoolDownConcurrent: under concurrent attempts, at most one probe
// goes per period end.
func TestCoolDownConcurrent(t *testing.T) {
	r, clk, _ := coolRouter(t)
	a := deployment(t, r, "m1", 0)
	for range 3 {
		r.Report(a, FailureModel)
	}
	clk.Advance(4 * time.Second)
	var mu sync.Mutex
	probes := 0
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if ok, probe := r.Available(a); ok {
				mu.Lock()
				if probe {
					probes++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if probes != 1 {
		t.Errorf("%d probes went; want exactly 1", probes)
	}
}

// BenchmarkRouteWeighted measures the router's pick among 10 weighted
// deployments, with the cool-down check of the first.
func BenchmarkRouteWeighted(b *testing.B) {
	var deps []Deployment
	for i := range 10 {
		d := dep("p", string(rune('a'+i)))
		d.Weight = i + 1
		deps = append(deps, d)
	}
	r, err := NewRouter([]Model{{Name: "m", Deployments: deps, Strategy: Weighted}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := r.Route("m")
		if err != nil {
			b.Fatal(err)
		}
		if ok, _ := r.Available(p.At(0)); !ok {
			b.Fatal("not available")
		}
	}
}
