package ratelimittest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/ratelimit"
)

// RunBatcherTests runs the tests every ratelimit.Batcher must pass, on top
// of RunBackendTests (which the caller runs too): AdmitAll and FinishAll
// must give the same Decisions as ratelimit.AdmitSequentially and
// FinishSequentially on another backend of the same kind driven the same
// way, and AdmitAll must be all or nothing under concurrency. newBackend
// returns a new, empty backend each time it is called (for a shared server,
// one with its own key space).
func RunBatcherTests(t *testing.T, newBackend func(t *testing.T) ratelimit.Batcher) {
	t.Helper()
	t.Run("MatchesSequential", func(t *testing.T) { testBatchMatchesSequential(t, newBackend(t), newBackend(t)) })
	t.Run("AllOrNothing", func(t *testing.T) { testBatchAllOrNothing(t, newBackend(t)) })
}

// testBatchMatchesSequential drives b with its batches and ref step by
// step through the same random sequence of admissions and finishes, on two
// subjects, and compares every Decision.
func testBatchMatchesSequential(t *testing.T, b, ref ratelimit.Batcher) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(13, 17))
	type held struct {
		subject string
		lim     ratelimit.Limits
		tokens  int64
	}
	var admitted []held
	now := t0
	// Each subject keeps its limits (a backend need only keep used tokens
	// to within one across a change of limit); each request checks some of
	// them.
	limits := map[string]ratelimit.Limits{
		"a": {MaxConcurrent: 2, RequestsPerMinute: 5, TokensPerMinute: 100},
		"b": {MaxConcurrent: 3, RequestsPerMinute: 3, TokensPerMinute: 50},
	}
	for i := range 400 {
		now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		subject := []string{"a", "b"}[rng.IntN(2)]
		if len(admitted) > 0 && rng.IntN(3) == 0 {
			k := rng.IntN(len(admitted))
			h := admitted[k]
			admitted = append(admitted[:k], admitted[k+1:]...)
			f := ratelimit.Finish{Tokens: int64(rng.IntN(60)) - h.tokens, Release: h.lim.MaxConcurrent > 0, GiveBackRequest: rng.IntN(4) == 0}
			got, err := b.FinishAll(ctx, h.subject, h.lim, f, now)
			if err != nil {
				t.Fatalf("step %d: FinishAll: %v", i, err)
			}
			want, err := ratelimit.FinishSequentially(ctx, ref, h.subject, h.lim, f, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("step %d: FinishAll(%s, %+v, %+v) differs from the sequential reference (-want +got):\n%s", i, h.subject, h.lim, f, diff)
			}
			continue
		}
		lim := limits[subject]
		mask := rng.IntN(8)
		if mask&1 == 0 {
			lim.MaxConcurrent = 0
		}
		if mask&2 == 0 {
			lim.RequestsPerMinute = 0
		}
		if mask&4 == 0 {
			lim.TokensPerMinute = 0
		}
		var tokens int64
		if lim.TokensPerMinute > 0 && rng.IntN(4) > 0 {
			tokens = 1 + rng.Int64N(lim.TokensPerMinute/2)
		}
		got, err := b.AdmitAll(ctx, subject, lim, tokens, now)
		if err != nil {
			t.Fatalf("step %d: AdmitAll: %v", i, err)
		}
		want, err := ratelimit.AdmitSequentially(ctx, ref, subject, lim, tokens, now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: AdmitAll(%s, %+v, %d) differs from the sequential reference (-want +got):\n%s", i, subject, lim, tokens, diff)
		}
		if got.Allowed() {
			admitted = append(admitted, held{subject, lim, tokens})
		}
	}
}

// testBatchAllOrNothing admits 40 requests at once against 4 slots: exactly
// 4 are granted, and the refused ones took no request and no tokens.
func testBatchAllOrNothing(t *testing.T, b ratelimit.Batcher) {
	ctx := context.Background()
	lim := ratelimit.Limits{MaxConcurrent: 4, RequestsPerMinute: 100, TokensPerMinute: 1000}
	var granted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			d, err := b.AdmitAll(ctx, "s", lim, 10, at(0))
			switch {
			case err != nil:
				errs <- err
			case d.Allowed():
				granted.Add(1)
			case d.Refused != ratelimit.Concurrency:
				errs <- fmt.Errorf("refused by %v; want concurrency", d.Refused)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := granted.Load(); n != 4 {
		t.Fatalf("granted %d of 40 against 4 slots; want 4", n)
	}
	q, err := b.AdjustTokens(ctx, "s", lim.TokensPerMinute, 0, at(0))
	if err != nil {
		t.Fatal(err)
	}
	if q.Remaining != 960 {
		t.Errorf("tokens left %d; want 960 (4 admissions of 10)", q.Remaining)
	}
	// 96 requests are left in the bucket, and no more.
	for i := range 97 {
		_, ok, err := b.TakeRequests(ctx, "s", lim.RequestsPerMinute, 1, at(0))
		if err != nil {
			t.Fatal(err)
		}
		if ok != (i < 96) {
			t.Fatalf("request %d after the admissions: granted %v; want %v (4 taken by AdmitAll)", i+1, ok, i < 96)
		}
	}
}
