package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

var ctx = context.Background()

func TestNewDefaults(t *testing.T) {
	l, err := ratelimit.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Allow(ctx, "s", ratelimit.Limits{RequestsPerMinute: 1})
	if err != nil || !d.Allowed() || d.Requests.Remaining != 0 {
		t.Fatalf("Allow = %+v, %v; want allowed with Remaining 0", d, err)
	}
	if _, err := l.Allow(ctx, "s", ratelimit.Limits{RequestsPerMinute: 1}); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("second Allow: err = %v; want ErrLimited", err)
	}
}

func TestInvalidLimits(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	for _, lim := range []ratelimit.Limits{{RequestsPerMinute: -1}, {TokensPerMinute: -1}, {MaxConcurrent: -1}} {
		if _, err := l.Allow(ctx, "s", lim); !errors.Is(err, ratelimit.ErrInvalidLimits) {
			t.Errorf("Allow(%+v): err = %v; want ErrInvalidLimits", lim, err)
		}
		if p, err := l.Admit(ctx, "s", lim); !errors.Is(err, ratelimit.ErrInvalidLimits) || p != nil {
			t.Errorf("Admit(%+v) = %v, %v; want nil, ErrInvalidLimits", lim, p, err)
		}
	}
}

func TestUnlimitedKeepsNoState(t *testing.T) {
	l, m, _ := newLimiter(t, 0)
	d, err := l.Allow(ctx, "s", ratelimit.Limits{})
	if err != nil || d != (ratelimit.Decision{}) {
		t.Fatalf("Allow(unlimited) = %+v, %v; want the zero Decision", d, err)
	}
	p, err := l.Admit(ctx, "s", ratelimit.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ReserveTokens(ctx, 1_000_000); err != nil {
		t.Fatal(err)
	}
	if err := p.Settle(ctx, 2_000_000); err != nil {
		t.Fatal(err)
	}
	p.Release()
	if p.Decision() != (ratelimit.Decision{}) {
		t.Fatalf("Decision = %+v; want the zero Decision", p.Decision())
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("Memory.Len = %d; want 0", n)
	}
}

// TestRequestsBoundary: exactly N requests in a burst, the N+1th refused with
// the right retry-after, and the refill.
func TestRequestsBoundary(t *testing.T) {
	for _, admit := range []bool{false, true} {
		name := map[bool]string{false: "Allow", true: "Admit"}[admit]
		t.Run(name, func(t *testing.T) {
			l, _, c := newLimiter(t, 0)
			lim := ratelimit.Limits{RequestsPerMinute: 60}
			allow := func() (ratelimit.Decision, error) {
				if !admit {
					return l.Allow(ctx, "s", lim)
				}
				p, err := l.Admit(ctx, "s", lim)
				defer p.Release()
				if err != nil {
					var le *ratelimit.LimitError
					errors.As(err, &le)
					return le.Decision, err
				}
				return p.Decision(), nil
			}
			for i := range int64(60) {
				d, err := allow()
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				want := ratelimit.Quota{Limit: 60, Remaining: 59 - i, Reset: time.Duration(i+1) * time.Second}
				if diff := cmp.Diff(want, d.Requests); diff != "" {
					t.Fatalf("request %d: Requests (-want +got):\n%s", i+1, diff)
				}
			}
			d, err := allow()
			var le *ratelimit.LimitError
			if !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &le) {
				t.Fatalf("request 61: err = %v; want a *LimitError wrapping ErrLimited", err)
			}
			want := ratelimit.Decision{
				Requests: ratelimit.Quota{Limit: 60, Remaining: 0, Reset: time.Minute, RetryAfter: time.Second},
				Refused:  ratelimit.Requests,
			}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Fatalf("request 61: Decision (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, le.Decision); diff != "" {
				t.Fatalf("request 61: LimitError.Decision (-want +got):\n%s", diff)
			}
			if got := le.Error(); got != "ratelimit: limit exceeded: requests per minute" {
				t.Errorf("Error() = %q", got)
			}

			c.Advance(999 * time.Millisecond)
			if _, err := allow(); !errors.Is(err, ratelimit.ErrLimited) {
				t.Fatalf("1ms before the refill: err = %v; want ErrLimited", err)
			}
			c.Advance(time.Millisecond)
			if _, err := allow(); err != nil {
				t.Fatalf("after the refill: %v", err)
			}
			c.Advance(time.Minute)
			for i := range 60 {
				if _, err := allow(); err != nil {
					t.Fatalf("after a full refill, request %d: %v", i+1, err)
				}
			}
			if _, err := allow(); !errors.Is(err, ratelimit.ErrLimited) {
				t.Fatalf("after a full refill, request 61: err = %v; want ErrLimited", err)
			}
		})
	}
}

// TestTokensOverestimate: settling below the estimate refunds the difference,
// which lets a later request in.
func TestTokensOverestimate(t *testing.T) {
	for _, settle := range []bool{false, true} {
		l, _, _ := newLimiter(t, 0)
		lim := ratelimit.Limits{TokensPerMinute: 1000}
		p1, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		if err := p1.ReserveTokens(ctx, 800); err != nil {
			t.Fatal(err)
		}
		if got := p1.Decision().Tokens.Remaining; got != 200 {
			t.Fatalf("Remaining after reserving 800 = %d; want 200", got)
		}
		if settle {
			if err := p1.Settle(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if got := p1.Decision().Tokens; got.Remaining != 900 || got.Reset != 6*time.Second {
				t.Fatalf("Tokens after settling at 100 = %+v; want Remaining 900, Reset 6s", got)
			}
		}
		p1.Release()

		p2, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		err = p2.ReserveTokens(ctx, 800)
		if settle && err != nil {
			t.Fatalf("after the refund, reserving 800: %v", err)
		}
		if !settle && !errors.Is(err, ratelimit.ErrLimited) {
			t.Fatalf("without the refund, reserving 800: err = %v; want ErrLimited", err)
		}
		p2.Release()
	}
}

// TestTokensUnderestimate: settling above the estimate charges the
// difference, and the debt makes later requests wait.
func TestTokensUnderestimate(t *testing.T) {
	l, _, c := newLimiter(t, 0)
	lim := ratelimit.Limits{TokensPerMinute: 1000}
	p1, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.ReserveTokens(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if err := p1.Settle(ctx, 1600); err != nil {
		t.Fatal(err)
	}
	want := ratelimit.Quota{Limit: 1000, Remaining: -600, Reset: 96 * time.Second}
	if diff := cmp.Diff(want, p1.Decision().Tokens); diff != "" {
		t.Fatalf("Tokens after settling at 1600 (-want +got):\n%s", diff)
	}
	if err := p1.Settle(ctx, 1600); err != nil { // settling again changes nothing
		t.Fatal(err)
	}
	p1.Release()

	p2, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	err = p2.ReserveTokens(ctx, 1)
	var le *ratelimit.LimitError
	if !errors.As(err, &le) || le.Decision.Refused != ratelimit.Tokens {
		t.Fatalf("reserving 1 in debt: err = %v; want a tokens *LimitError", err)
	}
	// 601 tokens to refill at 1000 a minute.
	if got, want := le.Decision.RetryAfter(), 36060*time.Millisecond; got != want {
		t.Fatalf("RetryAfter = %v; want %v", got, want)
	}
	c.Advance(le.Decision.RetryAfter() - time.Millisecond)
	p3, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := p3.ReserveTokens(ctx, 1); !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("1ms before the retry-after: err = %v; want ErrLimited", err)
	}
	c.Advance(time.Millisecond)
	p4, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := p4.ReserveTokens(ctx, 1); err != nil {
		t.Fatalf("at the retry-after: %v", err)
	}
}

// TestTokensTooLarge: an estimate above the limit can never pass.
func TestTokensTooLarge(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	lim := ratelimit.Limits{TokensPerMinute: 1000, RequestsPerMinute: 1, MaxConcurrent: 1}
	p, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	err = p.ReserveTokens(ctx, 1001)
	var le *ratelimit.LimitError
	if !errors.Is(err, ratelimit.ErrTooLarge) || errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &le) {
		t.Fatalf("err = %v; want a *LimitError wrapping ErrTooLarge only", err)
	}
	want := ratelimit.Decision{
		Concurrency: ratelimit.Quota{Limit: 1, Remaining: 1},
		Requests:    ratelimit.Quota{Limit: 1, Remaining: 1},
		Tokens:      ratelimit.Quota{Limit: 1000, Remaining: 1000},
		Refused:     ratelimit.Tokens,
	}
	if diff := cmp.Diff(want, le.Decision); diff != "" {
		t.Fatalf("Decision (-want +got):\n%s", diff)
	}
	if err2 := p.ReserveTokens(ctx, 1); err2 != err {
		t.Fatalf("ReserveTokens on a spent Permit = %v; want the refusal again", err2)
	}
	// Nothing was consumed: the request and the slot are back.
	p2, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatalf("Admit after the refusal: %v", err)
	}
	if err := p2.ReserveTokens(ctx, 600); err != nil {
		t.Fatal(err)
	}
	p2.Release()

	// The refusal shows the bucket as it is.
	l2, _, _ := newLimiter(t, 0)
	lim.RequestsPerMinute = 0
	p3, _ := l2.Admit(ctx, "s", lim)
	if err := p3.ReserveTokens(ctx, 600); err != nil {
		t.Fatal(err)
	}
	p3.Release()
	p4, _ := l2.Admit(ctx, "s", lim)
	err = p4.ReserveTokens(ctx, 2000)
	if !errors.As(err, &le) || le.Decision.Tokens != (ratelimit.Quota{Limit: 1000, Remaining: 400, Reset: 36 * time.Second}) {
		t.Fatalf("too large with 400 left: err = %v; want a *LimitError showing Remaining 400", err)
	}
}

// TestConcurrencySlots: K slots, the K+1th refused, and slots back after
// Release from every exit path.
func TestConcurrencySlots(t *testing.T) {
	const k = 3
	l, _, _ := newLimiter(t, 0)
	lim := ratelimit.Limits{MaxConcurrent: k}
	var held []*ratelimit.Permit
	for i := range k {
		p, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatalf("Admit %d: %v", i+1, err)
		}
		if got := p.Decision().Concurrency.Remaining; got != int64(k-1-i) {
			t.Fatalf("Admit %d: Concurrency.Remaining = %d; want %d", i+1, got, k-1-i)
		}
		held = append(held, p)
	}
	p, err := l.Admit(ctx, "s", lim)
	var le *ratelimit.LimitError
	if p != nil || !errors.As(err, &le) || !errors.Is(err, ratelimit.ErrLimited) {
		t.Fatalf("Admit %d = %v, %v; want nil and a *LimitError", k+1, p, err)
	}
	want := ratelimit.Decision{
		Concurrency: ratelimit.Quota{Limit: k, Remaining: 0, RetryAfter: time.Second},
		Refused:     ratelimit.Concurrency,
	}
	if diff := cmp.Diff(want, le.Decision); diff != "" {
		t.Fatalf("Decision (-want +got):\n%s", diff)
	}
	p.Release() // nil: does nothing
	for _, p := range held {
		p.Release()
	}

	errUpstream := errors.New("upstream failed")
	exits := map[string]func(){
		"return": func() {},
		"error":  func() { _ = errUpstream },
		"panic":  func() { panic("boom") },
	}
	serve := func(exit func()) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = errors.New("panicked")
			}
		}()
		p, err := l.Admit(ctx, "s", lim)
		defer p.Release()
		if err != nil {
			return err
		}
		exit()
		return errUpstream
	}
	for name, exit := range exits {
		t.Run(name, func(t *testing.T) {
			for i := range 10 * k { // would run out of slots if any leaked
				if err := serve(exit); errors.Is(err, ratelimit.ErrLimited) {
					t.Fatalf("request %d: %v (a slot leaked)", i+1, err)
				}
			}
		})
	}

	t.Run("idempotent", func(t *testing.T) {
		p, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(p.Release)
		}
		wg.Wait()
		p.Release()
		for i := range k {
			if _, err := l.Admit(ctx, "s", lim); err != nil {
				t.Fatalf("Admit %d: %v", i+1, err)
			}
		}
		if _, err := l.Admit(ctx, "s", lim); !errors.Is(err, ratelimit.ErrLimited) {
			t.Fatalf("Admit %d after repeated releases: err = %v; want ErrLimited (a release counted twice)", k+1, err)
		}
	})
}

// TestRefusedCostsNothing: a request refused by one limit consumes nothing
// from the others.
func TestRefusedCostsNothing(t *testing.T) {
	t.Run("concurrency refusal takes no request", func(t *testing.T) {
		l, _, _ := newLimiter(t, 0)
		lim := ratelimit.Limits{MaxConcurrent: 1, RequestsPerMinute: 5}
		p, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if _, err := l.Admit(ctx, "s", lim); !errors.Is(err, ratelimit.ErrLimited) {
				t.Fatalf("Admit while the slot is held: err = %v; want ErrLimited", err)
			}
		}
		p.Release()
		p, err = l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Decision().Requests.Remaining; got != 3 {
			t.Fatalf("Requests.Remaining = %d; want 3 (the refusals took none)", got)
		}
	})
	t.Run("request refusal keeps no slot", func(t *testing.T) {
		l, _, _ := newLimiter(t, 0)
		lim := ratelimit.Limits{MaxConcurrent: 1, RequestsPerMinute: 1}
		p, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
		_, err = l.Admit(ctx, "s", lim)
		var le *ratelimit.LimitError
		if !errors.As(err, &le) || le.Decision.Refused != ratelimit.Requests {
			t.Fatalf("second Admit: err = %v; want refused for requests", err)
		}
		if got := le.Decision.Concurrency.Remaining; got != 1 {
			t.Fatalf("Concurrency.Remaining = %d; want 1 (slot given back)", got)
		}
		if _, err := l.Admit(ctx, "s", ratelimit.Limits{MaxConcurrent: 1}); err != nil {
			t.Fatalf("Admit for the slot alone: %v (the refusal kept the slot)", err)
		}
	})
	t.Run("token refusal gives back the request and the slot", func(t *testing.T) {
		l, _, _ := newLimiter(t, 0)
		lim := ratelimit.Limits{MaxConcurrent: 1, RequestsPerMinute: 2, TokensPerMinute: 100}
		p1, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		if err := p1.ReserveTokens(ctx, 100); err != nil {
			t.Fatal(err)
		}
		p1.Release()

		p2, err := l.Admit(ctx, "s", lim) // takes the second request
		if err != nil {
			t.Fatal(err)
		}
		err = p2.ReserveTokens(ctx, 50)
		var le *ratelimit.LimitError
		if !errors.As(err, &le) || le.Decision.Refused != ratelimit.Tokens {
			t.Fatalf("ReserveTokens: err = %v; want refused for tokens", err)
		}
		want := ratelimit.Decision{
			Concurrency: ratelimit.Quota{Limit: 1, Remaining: 1},
			Requests:    ratelimit.Quota{Limit: 2, Remaining: 1, Reset: 30 * time.Second},
			Tokens:      ratelimit.Quota{Limit: 100, Remaining: 0, Reset: time.Minute, RetryAfter: 30 * time.Second},
			Refused:     ratelimit.Tokens,
		}
		if diff := cmp.Diff(want, le.Decision); diff != "" {
			t.Fatalf("Decision (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, p2.Decision()); diff != "" {
			t.Fatalf("Permit.Decision (-want +got):\n%s", diff)
		}
		if err := p2.Settle(ctx, 1000); err != nil { // spent: does nothing
			t.Fatal(err)
		}
		// p2 is never released: the refusal already gave its slot back.
		p3, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatalf("Admit after the token refusal: %v (request or slot not given back)", err)
		}
		if got := p3.Decision().Requests.Remaining; got != 0 {
			t.Fatalf("Requests.Remaining = %d; want 0", got)
		}
		if got := p3.Decision().Tokens; got != (ratelimit.Quota{}) {
			t.Fatalf("Tokens before reserving = %+v; want zero", got)
		}
	})
	t.Run("second reservation refused refunds the first", func(t *testing.T) {
		l, _, _ := newLimiter(t, 0)
		lim := ratelimit.Limits{TokensPerMinute: 100}
		p, err := l.Admit(ctx, "s", lim)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ReserveTokens(ctx, 60); err != nil {
			t.Fatal(err)
		}
		if err := p.ReserveTokens(ctx, 60); !errors.Is(err, ratelimit.ErrLimited) {
			t.Fatalf("second ReserveTokens: err = %v; want ErrLimited", err)
		}
		if got := p.Decision().Tokens.Remaining; got != 100 {
			t.Fatalf("Tokens.Remaining = %d; want 100", got)
		}
	})
}

// TestParallelOneSubject hammers one subject from many goroutines at one
// instant: the total allowed never exceeds the bucket.
func TestParallelOneSubject(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	const goroutines, each = 16, 200
	lim := ratelimit.Limits{RequestsPerMinute: 1000, TokensPerMinute: 10_000, MaxConcurrent: 4}
	var allowed, tokens, inFlight, maxInFlight atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				p, err := l.Admit(ctx, "hot", lim)
				if err != nil {
					if !errors.Is(err, ratelimit.ErrLimited) {
						t.Error(err)
					}
					continue
				}
				// The slot is surely held until ReserveTokens, which
				// gives it back when it refuses.
				n := inFlight.Add(1)
				for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
				}
				inFlight.Add(-1)
				if err := p.ReserveTokens(ctx, 30); err == nil {
					allowed.Add(1)
					tokens.Add(30)
				} else if !errors.Is(err, ratelimit.ErrLimited) {
					t.Error(err)
				}
				p.Release()
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got > 1000 {
		t.Errorf("requests allowed = %d; want at most 1000", got)
	}
	if got := tokens.Load(); got > 10_000 || got == 0 {
		t.Errorf("tokens reserved = %d; want some, at most 10000", got)
	}
	if got := maxInFlight.Load(); got > 4 {
		t.Errorf("requests in flight at once = %d; want at most 4", got)
	}

	// Allow alone: exactly the bucket.
	l, _, _ = newLimiter(t, 0)
	var n atomic.Int64
	for range goroutines {
		wg.Go(func() {
			for range each {
				if _, err := l.Allow(ctx, "hot", ratelimit.Limits{RequestsPerMinute: 1000}); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got != 1000 {
		t.Errorf("Allow: allowed = %d; want 1000", got)
	}
}

func TestBackendErrors(t *testing.T) {
	errDown := errors.New("backend down")
	l, err := ratelimit.New(&ratelimit.Options{Backend: failingBackend{errDown}})
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.Limits{RequestsPerMinute: 1, TokensPerMinute: 1, MaxConcurrent: 1}
	if _, err := l.Allow(ctx, "s", lim); !errors.Is(err, errDown) {
		t.Errorf("Allow: err = %v; want the backend's", err)
	}
	if p, err := l.Admit(ctx, "s", lim); !errors.Is(err, errDown) || p != nil {
		t.Errorf("Admit = %v, %v; want nil and the backend's error", p, err)
	}
}

func TestAllowAllocs(t *testing.T) {
	l, _, c := newLimiter(t, 0)
	lim := ratelimit.Limits{RequestsPerMinute: 600}
	allocs := testing.AllocsPerRun(1000, func() {
		c.Advance(100 * time.Millisecond)
		if _, err := l.Allow(ctx, "hot", lim); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Allow allocates %v times; want 0", allocs)
	}
}

// releaseFailing is a Memory whose Release fails.
type releaseFailing struct{ *ratelimit.Memory }

func (releaseFailing) Release(context.Context, string) error { return errors.New("connection reset") }

func TestReleaseErrorLogged(t *testing.T) {
	m, err := ratelimit.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l, err := ratelimit.New(&ratelimit.Options{
		Backend: releaseFailing{m},
		Logger:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime})),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Admit(ctx, "key_1", ratelimit.Limits{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.Release()
	p.Release()
	want := `level=WARN msg="ratelimit: releasing a concurrency slot failed" error="connection reset"` + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("log = %q; want %q", got, want)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestLimitErrorZero(t *testing.T) {
	var err error = &ratelimit.LimitError{}
	if !errors.Is(err, ratelimit.ErrLimited) || err.Error() != "ratelimit: limit exceeded: none" {
		t.Fatalf("zero LimitError: Is(ErrLimited) = %v, Error() = %q", errors.Is(err, ratelimit.ErrLimited), err.Error())
	}
}

func TestPermitCancelGivesEverythingBack(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	lim := ratelimit.Limits{RequestsPerMinute: 1, TokensPerMinute: 100, MaxConcurrent: 1}
	p, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ReserveTokens(ctx, 100); err != nil {
		t.Fatal(err)
	}
	p.Cancel(ctx)
	if err := p.ReserveTokens(ctx, 1); !errors.Is(err, ratelimit.ErrCanceled) {
		t.Errorf("ReserveTokens after Cancel: got %v; want ErrCanceled", err)
	}
	// The request, the tokens and the slot are all available again.
	p2, err := l.Admit(ctx, "s", lim)
	if err != nil {
		t.Fatalf("Admit after Cancel: %v", err)
	}
	if err := p2.ReserveTokens(ctx, 100); err != nil {
		t.Fatalf("ReserveTokens after Cancel: %v", err)
	}
	p2.Release()
	p.Cancel(ctx) // a second Cancel does nothing
	var np *ratelimit.Permit
	np.Cancel(ctx)
}

func TestLimitsAboveOnePerNanosecondRefused(t *testing.T) {
	l, _, _ := newLimiter(t, 0)
	if _, err := l.Admit(ctx, "s", ratelimit.Limits{TokensPerMinute: ratelimit.MaxPerMinute + 1}); !errors.Is(err, ratelimit.ErrInvalidLimits) {
		t.Errorf("Admit with TokensPerMinute above MaxPerMinute: %v; want ErrInvalidLimits", err)
	}
	p, err := l.Admit(ctx, "s", ratelimit.Limits{TokensPerMinute: ratelimit.MaxPerMinute})
	if err != nil {
		t.Fatalf("Admit at MaxPerMinute: %v", err)
	}
	p.Release()
}
