package metering_test

import (
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

func TestPeriodBounds(t *testing.T) {
	for _, tc := range []struct {
		p          metering.Period
		at         time.Time
		start, end time.Time
	}{
		{metering.PeriodWeekly, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)},                   // a Monday
		{metering.PeriodWeekly, time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},                // a Sunday
		{metering.PeriodWeekly, time.Date(2027, 1, 1, 12, 0, 0, 0, time.FixedZone("x", 14*3600)), time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)}, // across a year, in UTC
		{metering.PeriodDaily, time.Date(2026, 2, 28, 5, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{metering.PeriodMonthly, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{metering.PeriodTotal, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.Time{}, time.Time{}},
	} {
		start, end := tc.p.Bounds(tc.at)
		if !start.Equal(tc.start) || !end.Equal(tc.end) {
			t.Errorf("%v.Bounds(%v) = [%v, %v); want [%v, %v)", tc.p, tc.at, start, end, tc.start, tc.end)
		}
	}
}

func TestPeriodText(t *testing.T) {
	for _, name := range []string{"total", "daily", "weekly", "monthly"} {
		var p metering.Period
		if err := p.UnmarshalText([]byte(name)); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if b, err := p.MarshalText(); err != nil || string(b) != name || p.String() != name || !p.Valid() {
			t.Errorf("%q round trip: %q, %v", name, b, err)
		}
	}
	var p metering.Period
	if err := p.UnmarshalText([]byte("yearly")); err == nil {
		t.Error("yearly parsed")
	}
	if metering.Period(4).Valid() {
		t.Error("Period(4) is valid")
	}
}
