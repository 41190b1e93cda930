package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/ratelimit"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// carrierFixture is a LimiterBackend and a Ledger on one counted client.
type carrierFixture struct {
	trips  *tripCounter
	client *redis.Client
	lb     *redisstore.LimiterBackend
	ledger *redisstore.Ledger
	acct   metering.Account
}

func newCarrierFixture(t *testing.T, addr string) *carrierFixture {
	fx := &carrierFixture{trips: new(tripCounter)}
	fx.client = redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { fx.client.Close() })
	fx.client.AddHook(fx.trips)
	prefix := "{" + t.Name() + "}:"
	var err error
	if fx.lb, err = redisstore.NewLimiterBackend(fx.client, &redisstore.LimiterOptions{Prefix: prefix + "rl:"}); err != nil {
		t.Fatal(err)
	}
	if fx.ledger, err = redisstore.NewLedger(fx.client, &redisstore.LedgerOptions{Prefix: prefix + "ledger:"}); err != nil {
		t.Fatal(err)
	}
	fx.acct = metering.Account{Kind: metering.AccountKey, ID: "k", Limit: 1000, Period: metering.PeriodTotal}
	return fx
}

var carrierLimits = ratelimit.Limits{MaxConcurrent: 1, RequestsPerMinute: 100, TokensPerMinute: 1000}

// admit takes the one slot and 100 tokens, and reserves 300 µ$.
func (fx *carrierFixture) admit(t *testing.T) string {
	t.Helper()
	d, err := fx.lb.AdmitAll(t.Context(), "k", carrierLimits, 100, t0)
	if err != nil || !d.Allowed() {
		t.Fatalf("AdmitAll: %+v, %v", d, err)
	}
	id, err := fx.ledger.Reserve(t.Context(), []metering.Account{fx.acct}, 300)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// check asserts the state after a finish that settled cost and corrected
// the tokens to 40: the slot free, spend = cost, nothing reserved.
func (fx *carrierFixture) check(t *testing.T, cost int64) {
	t.Helper()
	b, err := fx.ledger.Balance(t.Context(), fx.acct)
	if err != nil {
		t.Fatal(err)
	}
	if b.Spent != cost || b.Reserved != 0 {
		t.Errorf("balance: spent %d, reserved %d; want %d and 0", b.Spent, b.Reserved, cost)
	}
	q, err := fx.lb.AdjustTokens(t.Context(), "k", carrierLimits.TokensPerMinute, 0, t0)
	if err != nil || q.Remaining != 960 {
		t.Errorf("tokens left %d (%v); want 960 (the charge corrected to 40)", q.Remaining, err)
	}
	if _, ok, err := fx.lb.Acquire(t.Context(), "k", 1, t0); err != nil || !ok {
		t.Errorf("the slot after the finish: granted %v, %v; want it free", ok, err)
	}
	if err := fx.lb.Release(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
}

// warm runs a whole cycle (admission, reservation, finish with the
// settlement carried) so that the server holds every script, and returns
// the budget it spent.
func (fx *carrierFixture) warm(t *testing.T, ledger metering.SettlementLedger) int64 {
	t.Helper()
	id := fx.admit(t)
	if _, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, ratelimit.Finish{Tokens: -100, Release: true}, ledger.Settlement(id, 10), t0); err != nil || settleErr != nil {
		t.Fatal(err, settleErr)
	}
	return 10
}

var carrierFinish = ratelimit.Finish{Tokens: -60, Release: true}

// A Ledger's settlement rides in the pipeline of the limits' finish: one
// round trip, both applied; also after the server lost its scripts.
func TestCarrierOneRoundTrip(t *testing.T) {
	fx := newCarrierFixture(t, srv.Addr)
	spent := fx.warm(t, fx.ledger)
	id := fx.admit(t)
	fx.trips.n.Store(0)
	_, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fx.ledger.Settlement(id, 250), t0)
	if err != nil || settleErr != nil {
		t.Fatalf("FinishAllWith: %v, %v", err, settleErr)
	}
	if n := fx.trips.n.Load(); n != 1 {
		t.Errorf("round trips: %d; want 1", n)
	}
	fx.check(t, spent+250)

	t.Run("ScriptsFlushed", func(t *testing.T) {
		fx := newCarrierFixture(t, srv.Addr)
		id := fx.admit(t)
		if err := fx.client.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		_, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fx.ledger.Settlement(id, 250), t0)
		if err != nil || settleErr != nil {
			t.Fatalf("FinishAllWith after SCRIPT FLUSH: %v, %v", err, settleErr)
		}
		fx.check(t, 250)
	})
	t.Run("OnlyTheLedgerScriptLost", func(t *testing.T) {
		// The finish runs in the first pipeline and the settlement is sent
		// again alone: the token correction is applied once.
		fx := newCarrierFixture(t, srv.Addr)
		id := fx.admit(t)
		if err := fx.client.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.lb.FinishAll(t.Context(), "warm", carrierLimits, ratelimit.Finish{GiveBackRequest: true}, t0); err != nil { // loads the finish script only
			t.Fatal(err)
		}
		_, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fx.ledger.Settlement(id, 250), t0)
		if err != nil || settleErr != nil {
			t.Fatalf("FinishAllWith: %v, %v", err, settleErr)
		}
		fx.check(t, 250)
	})
	t.Run("Release", func(t *testing.T) {
		fx := newCarrierFixture(t, srv.Addr)
		id := fx.admit(t)
		if _, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fx.ledger.Settlement(id, 0), t0); err != nil || settleErr != nil {
			t.Fatal(err, settleErr)
		}
		fx.check(t, 0)
	})
	t.Run("UnknownReservation", func(t *testing.T) {
		fx := newCarrierFixture(t, srv.Addr)
		fx.admit(t)
		_, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fx.ledger.Settlement("no-such-id", 5), t0)
		if err != nil || !errors.Is(settleErr, metering.ErrUnknownReservation) {
			t.Fatalf("unknown reservation: %v, %v; want nil and ErrUnknownReservation", err, settleErr)
		}
	})
	t.Run("OtherClient", func(t *testing.T) {
		fx := newCarrierFixture(t, srv.Addr)
		other := newCarrierFixture(t, srv.Addr) // the ledger on another client: not carried
		other.warm(t, other.ledger)
		fx.warm(t, fx.ledger)
		id := fx.admit(t)
		other.trips.n.Store(0)
		fx.trips.n.Store(0)
		if _, err, settleErr := other.lb.FinishAllWith(t.Context(), "k", carrierLimits, ratelimit.Finish{Tokens: -60}, fx.ledger.Settlement(id, 250), t0); err != nil || settleErr != nil {
			t.Fatal(err, settleErr)
		}
		if a, b := other.trips.n.Load(), fx.trips.n.Load(); a != 1 || b != 1 {
			t.Errorf("round trips: limiter's client %d, ledger's %d; want one each (not carried)", a, b)
		}
	})
}

// Behind metering's FailoverLedger the settlement still rides, and a
// failure of the pipeline counts a fallback of the ledger.
func TestCarrierThroughFailoverLedger(t *testing.T) {
	own, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	fx := newCarrierFixture(t, own.Addr)
	fl, err := metering.NewFailoverLedger(fx.ledger, nil)
	if err != nil {
		t.Fatal(err)
	}
	spent := fx.warm(t, fl)
	id := fx.admit(t)
	fx.trips.n.Store(0)
	if _, err, settleErr := fx.lb.FinishAllWith(t.Context(), "k", carrierLimits, carrierFinish, fl.Settlement(id, 250), t0); err != nil || settleErr != nil {
		t.Fatal(err, settleErr)
	}
	if n := fx.trips.n.Load(); n != 1 {
		t.Errorf("round trips through FailoverLedger: %d; want 1", n)
	}
	fx.check(t, spent+250)

	id = fx.admit(t)
	own.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err, settleErr := fx.lb.FinishAllWith(ctx, "k", carrierLimits, carrierFinish, fl.Settlement(id, 250), t0)
	if err == nil || settleErr == nil || errors.Is(settleErr, metering.ErrUnknownReservation) {
		t.Fatalf("Redis down: %v, %v; want both to fail", err, settleErr)
	}
	if n := fl.Fallbacks(); n != 1 {
		t.Errorf("ledger fallbacks: %d; want 1", n)
	}
}
