package metering_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/metering"
)

func TestDefaultPrices(t *testing.T) {
	prices := metering.DefaultPrices()
	if got, want := prices.AsOf(), time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("AsOf: got %v; want %v", got, want)
	}
	if src := prices.Source(); !strings.Contains(src, "verify before billing") {
		t.Errorf("Source: got %q; want a warning to verify before billing", src)
	}
	for _, m := range []string{
		"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini",
		"gpt-5", "gpt-5-mini", "gpt-5-nano", "text-embedding-3-small", "text-embedding-3-large",
		"claude-opus-4-1", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-3-5-haiku",
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash",
	} {
		if _, ok := prices.Lookup(m); !ok {
			t.Errorf("DefaultPrices has no price for %s", m)
		}
	}
	models := prices.Models()
	if len(models) < 30 {
		t.Errorf("DefaultPrices has %d models; want at least 30", len(models))
	}
	for _, m := range models {
		p, _ := prices.Lookup(m)
		embedding := strings.Contains(m, "embedding") || strings.Contains(m, "embed")
		switch {
		case p.Input <= 0:
			t.Errorf("%s: input price %d; want > 0", m, p.Input)
		case p.Output <= 0 && !embedding:
			t.Errorf("%s: output price %d; want > 0", m, p.Output)
		case p.CachedInput > p.Input:
			t.Errorf("%s: cached input price %d above input price %d", m, p.CachedInput, p.Input)
		case p.CacheWrite != 0 && p.CacheWrite < p.Input:
			t.Errorf("%s: cache write price %d below input price %d", m, p.CacheWrite, p.Input)
		case p.LongContextAbove != 0 && (p.LongContext.Input < p.Input || p.LongContext.Output < p.Output):
			t.Errorf("%s: long-context rates %+v below base rates %+v", m, p.LongContext, p.Rates)
		}
	}
	// Spot checks, in micro-dollars per million tokens.
	for m, want := range map[string]metering.Rates{
		"gpt-4o":            {Input: 2_500_000, Output: 10_000_000, CachedInput: 1_250_000},
		"gpt-5-nano":        {Input: 50_000, Output: 400_000, CachedInput: 5_000},
		"claude-sonnet-4-5": {Input: 3_000_000, Output: 15_000_000, CachedInput: 300_000, CacheWrite: 3_750_000, CacheWrite1h: 6_000_000},
		"gemini-2.5-flash":  {Input: 300_000, Output: 2_500_000, CachedInput: 75_000},
	} {
		p, _ := prices.Lookup(m)
		if diff := cmp.Diff(want, p.Rates); diff != "" {
			t.Errorf("%s rates (-want +got):\n%s", m, diff)
		}
	}
}

func TestDefaultPricesAreIndependent(t *testing.T) {
	a, b := metering.DefaultPrices(), metering.DefaultPrices()
	if err := a.Set("gpt-4o", metering.Price{Rates: metering.Rates{Input: 1, Output: 1}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.Lookup("gpt-4o"); p.Input != 2_500_000 {
		t.Errorf("Set on one table changed another: gpt-4o input %d", p.Input)
	}
}

func TestLookupSnapshotRule(t *testing.T) {
	prices := metering.DefaultPrices()
	for _, tc := range []struct {
		model, as string // as is "" when no price should be found
	}{
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-2024-05-13", "gpt-4o-2024-05-13"}, // its own, higher, price
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"},
		{"gpt-5-2025-08-07", "gpt-5"},
		{"o3-2025-04-16", "o3"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"models/gemini-2.5-flash", "gemini-2.5-flash"},
		{"gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"models/gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"gpt-4o-audio-preview-2024-12-17", ""},
		{"gpt-4o-mini-tts", ""},
		{"gpt-4o-", ""},
		{"gpt-4", ""},
		{"llama-3.1-70b", ""},
		{"-2024-08-06", ""},
		{"", ""},
		{"GPT-4O", ""},
	} {
		p, ok := prices.Lookup(tc.model)
		if tc.as == "" {
			if ok {
				t.Errorf("Lookup(%q): got %+v; want no price", tc.model, p)
			}
			continue
		}
		want, _ := prices.Lookup(tc.as)
		if !ok || p != want {
			t.Errorf("Lookup(%q): got %+v, %v; want the price of %s, %+v", tc.model, p, ok, tc.as, want)
		}
	}
}

func TestPriceTableUnknownAndFallback(t *testing.T) {
	prices := metering.DefaultPrices()
	u := metering.Usage{InputTokens: 1000, OutputTokens: 1000}
	if cost, known := prices.Cost("my-llama", u); cost != 0 || known {
		t.Errorf("Cost(unpriced): got %d, %v; want 0, false", cost, known)
	}
	if cost, known := prices.MaxCost("my-llama", 1000, 1000); cost != 0 || known {
		t.Errorf("MaxCost(unpriced): got %d, %v; want 0, false", cost, known)
	}
	if err := prices.CheckPriced("my-llama"); !errors.Is(err, metering.ErrUnpriced) {
		t.Errorf("CheckPriced(unpriced): got %v; want ErrUnpriced", err)
	}
	if err := prices.CheckPriced("gpt-4o-2024-08-06"); err != nil {
		t.Errorf("CheckPriced(priced): got %v; want nil", err)
	}
	if _, ok := prices.Fallback(); ok {
		t.Error("Fallback: got one before SetFallback")
	}
	fb := metering.Price{Rates: metering.Rates{Input: 10_000_000, Output: 30_000_000}}
	if err := prices.SetFallback(fb); err != nil {
		t.Fatalf("SetFallback: %v", err)
	}
	if cost, known := prices.Cost("my-llama", u); cost != 40_000 || known {
		t.Errorf("Cost(unpriced with fallback): got %d, %v; want 40000, false", cost, known)
	}
	if cost, known := prices.MaxCost("my-llama", 1000, 1000); cost != 40_000 || known {
		t.Errorf("MaxCost(unpriced with fallback): got %d, %v; want 40000, false", cost, known)
	}
	if err := prices.CheckPriced("my-llama"); err != nil {
		t.Errorf("CheckPriced(unpriced with fallback): got %v; want nil", err)
	}
	if cost, known := prices.Cost("gpt-4o", u); cost != 12_500 || !known {
		t.Errorf("Cost(priced with fallback): got %d, %v; want 12500, true", cost, known)
	}
}

func TestPriceTableSet(t *testing.T) {
	prices := metering.DefaultPrices()
	negotiated := metering.Price{Rates: metering.Rates{Input: 2_000_000, Output: 8_000_000}}
	if err := prices.Set("gpt-4o", negotiated); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if p, _ := prices.Lookup("gpt-4o-2024-08-06"); p != negotiated {
		t.Errorf("Lookup after Set: got %+v; want %+v", p, negotiated)
	}
	if err := prices.Set("my-llama", negotiated); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if cost, known := prices.Cost("my-llama", metering.Usage{InputTokens: 1000}); cost != 2_000 || !known {
		t.Errorf("Cost(added model): got %d, %v; want 2000, true", cost, known)
	}
	if err := prices.Set("", negotiated); err == nil {
		t.Error("Set with an empty name: got nil error; want an error")
	}
	if err := prices.Set("bad", metering.Price{Rates: metering.Rates{Output: -1}}); err == nil {
		t.Error("Set with a negative price: got nil error; want an error")
	}
	if err := prices.Set("bad", metering.Price{LongContext: metering.Rates{CacheWrite: -1}}); err == nil {
		t.Error("Set with a negative long-context price: got nil error; want an error")
	}
	if err := prices.SetFallback(metering.Price{Rates: metering.Rates{Input: -1}}); err == nil {
		t.Error("SetFallback with a negative price: got nil error; want an error")
	}
}

func TestPriceTableZeroAndNil(t *testing.T) {
	var nilTable *metering.PriceTable
	if _, known := nilTable.Cost("gpt-4o", metering.Usage{InputTokens: 1}); known {
		t.Error("nil table Cost: got known; want unknown")
	}
	if err := nilTable.CheckPriced("gpt-4o"); !errors.Is(err, metering.ErrUnpriced) {
		t.Errorf("nil table CheckPriced: got %v; want ErrUnpriced", err)
	}
	if !nilTable.AsOf().IsZero() || nilTable.Source() != "" || nilTable.Models() != nil {
		t.Error("nil table: got a date, source or models; want none")
	}
	var zero metering.PriceTable
	if _, ok := zero.Lookup("gpt-4o"); ok {
		t.Error("zero table Lookup: got a price; want none")
	}
	if err := zero.Set("m", metering.Price{Rates: metering.Rates{Input: 1_000_000}}); err != nil {
		t.Fatalf("zero table Set: %v", err)
	}
	if cost, known := zero.Cost("m-2025-01-01", metering.Usage{InputTokens: 3}); cost != 3 || !known {
		t.Errorf("zero table Cost after Set: got %d, %v; want 3, true", cost, known)
	}
}

func TestParsePriceTable(t *testing.T) {
	const head = `{"as_of": "2025-01-02", "source": "s", "models": [`
	good, err := metering.ParsePriceTable([]byte(head + `{"model": "m", "input": 1, "output": 0}]}`))
	if err != nil {
		t.Fatalf("ParsePriceTable: %v", err)
	}
	if p, ok := good.Lookup("m"); !ok || p.Input != 1 {
		t.Errorf("Lookup: got %+v, %v; want input 1", p, ok)
	}
	for name, doc := range map[string]string{
		"not JSON":       `{`,
		"no date":        `{"source": "s", "models": []}`,
		"bad date":       `{"as_of": "01/02/2025", "models": []}`,
		"unknown field":  head + `{"model": "m", "input": 1, "output": 1, "outptu": 2}]}`,
		"no model":       head + `{"input": 1, "output": 1}]}`,
		"no input":       head + `{"model": "m", "output": 1}]}`,
		"no output":      head + `{"model": "m", "input": 1}]}`,
		"negative":       head + `{"model": "m", "input": -1, "output": 1}]}`,
		"negative image": head + `{"model": "m", "input": 1, "output": 1, "image_input_tokens": -1}]}`,
		"fractional":     head + `{"model": "m", "input": 2.5, "output": 1}]}`,
		"listed twice":   head + `{"model": "m", "input": 1, "output": 1}, {"model": "m", "input": 2, "output": 2}]}`,
		"string price":   head + `{"model": "m", "input": "1", "output": 1}]}`,
		"trailing field": head + `{"model": "m", "input": 1, "output": 1, "long_context": {"inptu": 1}}]}`,
	} {
		if _, err := metering.ParsePriceTable([]byte(doc)); err == nil {
			t.Errorf("ParsePriceTable(%s): got nil error; want an error", name)
		} else if !strings.HasPrefix(err.Error(), "metering: ") {
			t.Errorf("ParsePriceTable(%s): error %q lacks the metering: prefix", name, err)
		}
	}
}

func TestPriceTableConcurrentSetAndCost(t *testing.T) {
	prices := metering.DefaultPrices()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			prices.Set("gpt-4o", metering.Price{Rates: metering.Rates{Input: int64(i + 1), Output: 1}})
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if _, known := prices.Cost("gpt-4o-2024-08-06", metering.Usage{InputTokens: 10}); !known {
					t.Error("Cost during Set: got unknown; want known")
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCost(b *testing.B) {
	prices := metering.DefaultPrices()
	u := metering.Usage{InputTokens: 12_000, CachedInputTokens: 8_000, CacheCreationTokens: 1_000, OutputTokens: 900, ReasoningTokens: 300}
	for _, model := range []string{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, known := prices.Cost(model, u); !known {
					b.Fatal("unknown")
				}
			}
		})
	}
}

func TestPriceFor(t *testing.T) {
	var pt metering.PriceTable
	own := metering.Price{Rates: metering.Rates{Input: 1, Output: 2}}
	fallback := metering.Price{Rates: metering.Rates{Input: 3, Output: 4}}
	if err := pt.Set("m", own); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := pt.PriceFor("other"); ok {
		t.Error("PriceFor of an unpriced model without a fallback: ok; want not ok")
	}
	if err := pt.SetFallback(fallback); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		model string
		want  metering.Price
		known bool
	}{{"m", own, true}, {"m-2024-08-06", own, true}, {"other", fallback, false}} {
		p, known, ok := pt.PriceFor(tc.model)
		if !ok || known != tc.known || p != tc.want {
			t.Errorf("PriceFor(%q) = %+v, %v, %v; want %+v, %v, true", tc.model, p, known, ok, tc.want, tc.known)
		}
	}
}
