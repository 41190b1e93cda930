package metering

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestMemoryLedgerStateBounded checks that accounts of ended periods and
// forgotten reservations leave the ledger's maps.
func TestMemoryLedgerStateBounded(t *testing.T) {
	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Minute
	l, err := NewMemoryLedger(&MemoryLedgerOptions{TTL: ttl, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const perDay = 100
	for day := range 10 {
		for i := range perDay {
			// Fresh daily accounts every day, as with rotating keys.
			a := Account{Kind: AccountKey, ID: "d" + strconv.Itoa(day) + "-" + strconv.Itoa(i), Limit: 1000, Period: PeriodDaily}
			id, err := l.Reserve(ctx, []Account{a}, 10)
			if err != nil {
				t.Fatalf("Reserve: %v", err)
			}
			if i%2 == 0 {
				if err := l.Settle(ctx, id, 5); err != nil {
					t.Fatalf("Settle: %v", err)
				}
			} // the odd ones are never settled: they expire
		}
		l.mu.Lock()
		accounts, resv := len(l.accounts), len(l.resv)
		l.mu.Unlock()
		if accounts > perDay || resv > perDay {
			t.Fatalf("day %d: %d accounts, %d reservations held; want at most %d of each", day, accounts, resv, perDay)
		}
		now = now.Add(24 * time.Hour)
	}
	now = now.Add(2 * ttl)
	if _, err := l.Balance(ctx, Account{Kind: AccountKey, ID: "x", Period: PeriodDaily}); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.accounts) != 0 || len(l.resv) != 0 || len(l.timers) != 0 {
		t.Errorf("after every period ended: %d accounts, %d reservations, %d timers; want 0, 0, 0",
			len(l.accounts), len(l.resv), len(l.timers))
	}
}

func TestTimerHeap(t *testing.T) {
	var h timerHeap
	base := time.Unix(0, 0)
	rs := make(map[int]*reservation)
	for _, s := range []int{5, 3, 9, 1, 7, 2, 8, 6, 4, 0, 11, 10} {
		rs[s] = &reservation{at: base.Add(time.Duration(s) * time.Second), id: strconv.Itoa(s)}
		h.push(rs[s])
	}
	h.remove(rs[7].index)
	h.remove(rs[0].index)
	rs[11].at = base.Add(-time.Second)
	h.fix(rs[11].index)
	for _, want := range []int{11, 1, 2, 3, 4, 5, 6, 8, 9, 10} {
		for i, r := range h {
			if r.index != i {
				t.Fatalf("reservation %s at index %d thinks it is at %d", r.id, i, r.index)
			}
		}
		if got := h[0]; got.id != strconv.Itoa(want) {
			t.Fatalf("top: got %s; want %d", got.id, want)
		}
		h.remove(0)
	}
	if len(h) != 0 {
		t.Errorf("heap holds %d timers; want 0", len(h))
	}
}
