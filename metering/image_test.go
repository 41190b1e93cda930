package metering_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

func TestMaxImageTokens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ceiling int64
		images  int64
		want    int64
		wantOK  bool
	}{
		{"no images", 1445, 0, 0, true},
		{"negative images", 1445, -3, 0, true},
		{"no images, no ceiling", 0, 0, 0, true},
		{"images without a ceiling", 0, 1, 0, false},
		{"one image", 1445, 1, 1445, true},
		{"several images", 48_169, 3, 144_507, true},
		{"at the limit", math.MaxInt64 / 2, 2, math.MaxInt64 - 1, true},
		{"saturates", math.MaxInt64 / 2, 3, math.MaxInt64, true},
		{"saturates at the extremes", math.MaxInt64, math.MaxInt64, math.MaxInt64, true},
		{"huge count, small ceiling", 1, math.MaxInt64, math.MaxInt64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := metering.Price{ImageInputTokens: tc.ceiling}
			got, ok := p.MaxImageTokens(tc.images)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("MaxImageTokens(%d) with ceiling %d = %d, %v; want %d, %v", tc.images, tc.ceiling, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestImageCeilingInTable(t *testing.T) {
	const doc = `{"as_of": "2025-01-02", "notes": ["why", "how"], "models": [
		{"model": "vision", "input": 1, "output": 2, "image_input_tokens": 1445},
		{"model": "text-only", "input": 1, "output": 2}]}`
	pt, err := metering.ParsePriceTable([]byte(doc))
	if err != nil {
		t.Fatalf("ParsePriceTable: %v", err)
	}
	if p, ok := pt.Lookup("vision-2025-01-01"); !ok || p.ImageInputTokens != 1445 {
		t.Errorf("Lookup(vision snapshot): got %+v, %v; want image_input_tokens 1445", p, ok)
	}
	if p, _ := pt.Lookup("text-only"); p.ImageInputTokens != 0 {
		t.Errorf("text-only: image_input_tokens %d; want 0", p.ImageInputTokens)
	}
	if _, ok := (metering.Price{}).MaxImageTokens(1); ok {
		t.Error("the zero Price bounds images; want it to refuse them")
	}

	for name, doc := range map[string]string{
		"negative":     `{"as_of": "2025-01-02", "models": [{"model": "m", "input": 1, "output": 1, "image_input_tokens": -1}]}`,
		"fractional":   `{"as_of": "2025-01-02", "models": [{"model": "m", "input": 1, "output": 1, "image_input_tokens": 1.5}]}`,
		"string":       `{"as_of": "2025-01-02", "models": [{"model": "m", "input": 1, "output": 1, "image_input_tokens": "1445"}]}`,
		"notes string": `{"as_of": "2025-01-02", "notes": 3, "models": []}`,
	} {
		if _, err := metering.ParsePriceTable([]byte(doc)); err == nil {
			t.Errorf("ParsePriceTable(%s): got nil error; want an error", name)
		} else if !strings.HasPrefix(err.Error(), "metering: ") {
			t.Errorf("ParsePriceTable(%s): error %q lacks the metering: prefix", name, err)
		}
	}

	var table metering.PriceTable
	if err := table.Set("m", metering.Price{ImageInputTokens: -1}); err == nil {
		t.Error("Set with a negative image ceiling: got nil error; want an error")
	}
	if err := table.SetFallback(metering.Price{ImageInputTokens: -1}); err == nil {
		t.Error("SetFallback with a negative image ceiling: got nil error; want an error")
	}
	if err := table.Set("m", metering.Price{ImageInputTokens: 700}); err != nil {
		t.Fatal(err)
	}
	if err := table.SetFallback(metering.Price{ImageInputTokens: 900}); err != nil {
		t.Fatal(err)
	}
	if p, _ := table.Lookup("m-latest"); p.ImageInputTokens != 700 {
		t.Errorf("Lookup after Set: image_input_tokens %d; want 700", p.ImageInputTokens)
	}
	if p, _ := table.Fallback(); p.ImageInputTokens != 900 {
		t.Errorf("Fallback: image_input_tokens %d; want 900", p.ImageInputTokens)
	}
}

// gpt4oMiniFloor is the most a gpt-4o-mini image can cost under OpenAI's
// documented tile rule: 2,833 base tokens plus 5,667 per 512 px tile, and
// a high-detail image fits 2048 px by 768 px after resizing: 4 × 2 tiles.
const gpt4oMiniFloor = 2_833 + 5_667*8

// imageCeilings are the embedded per-image ceilings, per family, with the
// derivation documented in prices.json's notes.
var imageCeilings = map[string]int64{
	// OpenAI, tile rule: base + 8 tiles.
	"gpt-4o":            85 + 8*170,
	"gpt-4o-2024-05-13": 85 + 8*170,
	"chatgpt-4o-latest": 85 + 8*170,
	"gpt-4-turbo":       85 + 8*170,
	"gpt-4o-mini":       gpt4oMiniFloor,
	"o1":                75 + 8*150,
	"o1-pro":            75 + 8*150,
	"o3":                75 + 8*150,
	// OpenAI, patch rule: 1,536 patches × multiplier, rounded up; gpt-4.1
	// and o3-pro take the ×1 patch cap, above their tile rule.
	"gpt-4.1":      1536,
	"o3-pro":       1536,
	"gpt-4.1-mini": 2489, // 1536 × 1.62
	"gpt-5-mini":   2489,
	"gpt-4.1-nano": 3779, // 1536 × 2.46
	"gpt-5-nano":   3779,
	"o4-mini":      2642, // 1536 × 1.72
	// gpt-5: the tile rule gives 70 + 8 × 140 = 1,190; later gpt-5.x
	// models bill 1,536 patches × 1.2.
	"gpt-5":             1844,
	"gpt-5-chat-latest": 1844,
	"gpt-5-codex":       1844,
	"gpt-5-pro":         1844,
	// Anthropic: long edge ≤ 1568 px, tokens = w × h / 750.
	"claude-opus-4-1":   3279,
	"claude-opus-4":     3279,
	"claude-opus-4-0":   3279,
	"claude-sonnet-4-5": 3279,
	"claude-sonnet-4":   3279,
	"claude-sonnet-4-0": 3279,
	"claude-3-7-sonnet": 3279,
	"claude-haiku-4-5":  3279,
	"claude-3-5-haiku":  3279,
	"claude-3-haiku":    3279,
	// Gemini: 16 tiles × 258, doubled.
	"gemini-2.5-pro":        2 * 16 * 258,
	"gemini-2.5-flash":      2 * 16 * 258,
	"gemini-2.5-flash-lite": 2 * 16 * 258,
	"gemini-2.0-flash":      2 * 16 * 258,
	"gemini-2.0-flash-lite": 2 * 16 * 258,
}

// noVision are the embedded models that take no image input.
var noVision = []string{
	"o1-mini", "o3-mini", "gpt-3.5-turbo",
	"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002", "gemini-embedding-001",
	"fake-echo", "fake-embed", // providers/fake: text only
}

func TestDefaultImageCeilings(t *testing.T) {
	prices := metering.DefaultPrices()
	for _, m := range prices.Models() {
		p, _ := prices.Lookup(m)
		want, vision := imageCeilings[m]
		switch {
		case vision && p.ImageInputTokens != want:
			t.Errorf("%s: image_input_tokens %d; want %d", m, p.ImageInputTokens, want)
		case !vision && p.ImageInputTokens != 0:
			t.Errorf("%s: image_input_tokens %d; want none (no vision)", m, p.ImageInputTokens)
		case !vision && !slices.Contains(noVision, m):
			t.Errorf("%s: neither a vision model with a ceiling nor listed as text-only; add it to a test table", m)
		}
	}
	for m := range imageCeilings {
		if _, ok := prices.Lookup(m); !ok {
			t.Errorf("%s: in the test table but not in DefaultPrices", m)
		}
	}
	if p, _ := prices.Lookup("gpt-4o-mini"); p.ImageInputTokens < gpt4oMiniFloor {
		t.Errorf("gpt-4o-mini: image_input_tokens %d; want at least %d", p.ImageInputTokens, gpt4oMiniFloor)
	}
	// The defect that motivated the ceilings: a 195-byte gpt-4o-mini
	// request with one image was billed 2,841 prompt tokens.
	if tokens, ok := mustLookup(t, prices, "gpt-4o-mini").MaxImageTokens(1); !ok || 195+tokens < 2_841 {
		t.Errorf("gpt-4o-mini: 195 bytes + one image bound to %d tokens; want at least 2,841", 195+tokens)
	}
}

func TestImageCeilingsResolveForSnapshots(t *testing.T) {
	prices := metering.DefaultPrices()
	for snapshot, base := range map[string]string{
		"gpt-4o-mini-2024-07-18":       "gpt-4o-mini",
		"gpt-4o-2024-08-06":            "gpt-4o",
		"gpt-4.1-mini-2025-04-14":      "gpt-4.1-mini",
		"o4-mini-2025-04-16":           "o4-mini",
		"gpt-5-2025-08-07":             "gpt-5",
		"claude-sonnet-4-5-20250929":   "claude-sonnet-4-5",
		"claude-3-5-haiku-latest":      "claude-3-5-haiku",
		"claude-opus-4-1@20250805":     "claude-opus-4-1",
		"gemini-2.0-flash-001":         "gemini-2.0-flash",
		"models/gemini-2.5-flash":      "gemini-2.5-flash",
		"models/gemini-2.5-flash-lite": "gemini-2.5-flash-lite",
	} {
		got := mustLookup(t, prices, snapshot).ImageInputTokens
		if want := mustLookup(t, prices, base).ImageInputTokens; got != want || got == 0 {
			t.Errorf("%s: image_input_tokens %d; want %s's %d", snapshot, got, base, want)
		}
	}
	// The snapshot of gpt-4o with its own price keeps an image ceiling.
	if p := mustLookup(t, prices, "gpt-4o-2024-05-13"); p.ImageInputTokens != 1445 {
		t.Errorf("gpt-4o-2024-05-13: image_input_tokens %d; want 1445", p.ImageInputTokens)
	}
}

func mustLookup(t *testing.T, prices *metering.PriceTable, model string) metering.Price {
	t.Helper()
	p, ok := prices.Lookup(model)
	if !ok {
		t.Fatalf("Lookup(%q): no price", model)
	}
	return p
}
