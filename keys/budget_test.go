package keys_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
)

func TestSetBudgetAndTopUp(t *testing.T) {
	fx, events := auditedFixture(t)
	ctx := context.Background()
	_, rec := fx.issue(t, keys.Spec{Budget: keys.Budget{LimitMicros: 100}})
	if rec.Budget != (keys.Budget{LimitMicros: 100, Period: keys.PeriodTotal}) {
		t.Fatalf("issued budget %+v; want 100 total", rec.Budget)
	}
	got, err := fx.m.TopUp(ctx, rec.ID, 50)
	if err != nil || got.Budget.LimitMicros != 150 {
		t.Fatalf("TopUp: %+v, %v; want a limit of 150", got, err)
	}
	for _, amount := range []int64{0, -5, math.MaxInt64} {
		if _, err := fx.m.TopUp(ctx, rec.ID, amount); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("TopUp(%d): %v; want ErrInvalid", amount, err)
		}
	}
	if got, err = fx.m.SetBudget(ctx, rec.ID, keys.Budget{LimitMicros: 7, Period: keys.PeriodWeekly}); err != nil || got.Budget.Period != keys.PeriodWeekly {
		t.Fatalf("SetBudget weekly: %+v, %v", got, err)
	}
	if _, err := fx.m.TopUp(ctx, rec.ID, 5); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("TopUp of a weekly budget: %v; want ErrInvalid", err)
	}
	for _, b := range []keys.Budget{{LimitMicros: -1}, {LimitMicros: 5, Period: "hourly"}} {
		if _, err := fx.m.SetBudget(ctx, rec.ID, b); !errors.Is(err, keys.ErrInvalid) {
			t.Errorf("SetBudget(%+v): %v; want ErrInvalid", b, err)
		}
	}
	if got, err = fx.m.SetBudget(ctx, rec.ID, keys.Budget{Period: keys.PeriodDaily}); err != nil || got.Budget != (keys.Budget{}) {
		t.Errorf("SetBudget with no limit: %+v, %v; want the budget removed", got, err)
	}
	if _, err := fx.m.TopUp(ctx, rec.ID, 5); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("TopUp without a budget: %v; want ErrInvalid", err)
	}
	if _, err := fx.m.TopUp(ctx, "key_nope", 5); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("TopUp of an unknown key: %v; want ErrNotFound", err)
	}
	n := 0
	for _, ev := range events() {
		if ev.Action == audit.ActionBudgetChanged {
			if ev.Subject != rec.ID || ev.Owner != "alice" || ev.Outcome != audit.OutcomeAllowed {
				t.Errorf("event %+v", ev)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d budget.changed events; want 3 (one top-up, two sets)", n)
	}
}
