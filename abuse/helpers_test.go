package abuse

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// start is the test clock's first reading, on a minute boundary.
var start = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// recorder collects the signals passed to OnSignal.
type recorder struct {
	mu   sync.Mutex
	sigs []Signal
}

func (r *recorder) add(s Signal) {
	r.mu.Lock()
	r.sigs = append(r.sigs, s)
	r.mu.Unlock()
}

func (r *recorder) all() []Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Signal(nil), r.sigs...)
}

// count returns the number of signals of kind.
func (r *recorder) count(kind Kind) int {
	n := 0
	for _, s := range r.all() {
		if s.Kind == kind {
			n++
		}
	}
	return n
}

// newTest returns a Detector on a test clock at start, recording signals.
// opts may be nil.
func newTest(t testing.TB, opts *Options) (*Detector, *clock, *recorder) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	clk, rec := &clock{t: start}, &recorder{}
	o.Now, o.OnSignal = clk.Now, rec.add
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return d, clk, rec
}

// spread calls fn n times evenly over period from the clock's time, then
// sets the clock to the end of the period.
func spread(clk *clock, n int, period time.Duration, fn func(i int)) {
	t0 := clk.Now()
	for i := range n {
		clk.Set(t0.Add(time.Duration(i) * period / time.Duration(n)))
		fn(i)
	}
	clk.Set(t0.Add(period))
}

var home = netip.MustParseAddr("192.0.2.10")
