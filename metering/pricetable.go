package metering

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed prices.json
var defaultPricesJSON []byte

// PriceTable maps model names to prices. Lookups are lock-free and do not
// allocate; Set and SetFallback copy the table, so they suit configuration
// and occasional updates, not a per-request path.
//
// The zero PriceTable is empty and ready to use, and a nil *PriceTable
// behaves as an empty one for lookups. PriceTable is safe for concurrent
// use.
//
// # Model names
//
// Lookup tries the exact name first, so that an entry for a dated snapshot
// wins (gpt-4o-2024-05-13 costs more than gpt-4o). It then drops a leading
// "models/" (Gemini's resource prefix) and tries again, then drops one
// trailing snapshot marker at a time and tries each shorter name. Snapshot
// markers are:
//
//   - a date: "-2024-08-06" (OpenAI), "-20250929" or "@20250929" (Anthropic,
//     Vertex AI);
//   - a three-digit version: "-001" (Gemini);
//   - "-latest".
//
// So "gpt-4o-2024-08-06" costs as "gpt-4o", "claude-sonnet-4-5-20250929" as
// "claude-sonnet-4-5", "gemini-2.0-flash-001" as "gemini-2.0-flash" and
// "claude-3-5-haiku-latest" as "claude-3-5-haiku". Nothing else is stripped:
// "gpt-4o-mini" never falls back to "gpt-4o", and a preview or a fine-tuned
// model needs its own entry.
type PriceTable struct {
	// mu serializes writers; readers load state without locking.
	mu    sync.Mutex
	state atomic.Pointer[priceState]
}

// priceState is an immutable snapshot of a PriceTable.
type priceState struct {
	asOf        time.Time
	source      string
	models      map[string]Price
	fallback    Price
	hasFallback bool
}

// priceFile is the format of prices.json and of ParsePriceTable's input.
type priceFile struct {
	AsOf   string `json:"as_of"`
	Source string `json:"source"`
	Unit   string `json:"unit"`
	// Notes document the table's derivations for people; they are not
	// read.
	Notes  []string `json:"notes"`
	Models []struct {
		Model    string `json:"model"`
		Provider string `json:"provider"`
		Price
	} `json:"models"`
}

// DefaultPrices returns a new PriceTable holding the list prices embedded in
// this package (prices.json) for OpenAI, Anthropic and Gemini models. See
// AsOf and Source for their date and origin: verify them before billing,
// and Set what differs. Each call returns an independent table.
func DefaultPrices() *PriceTable {
	t, err := ParsePriceTable(defaultPricesJSON)
	if err != nil {
		// The embedded file is checked by the package's tests.
		panic("metering: embedded price table is invalid: " + err.Error())
	}
	return t
}

// ParsePriceTable parses a price table in the format of the embedded
// prices.json:
//
//	{"as_of": "2025-11-01", "source": "...", "models": [
//	  {"model": "gpt-4o", "input": 2500000, "output": 10000000, "cached_input": 1250000,
//	   "image_input_tokens": 1445},
//	  {"model": "claude-sonnet-4-5", "input": 3000000, "output": 15000000,
//	   "cached_input": 300000, "cache_write": 3750000,
//	   "long_context_above": 200000, "long_context": {"input": 6000000, "output": 22500000}}]}
//
// Prices are integer micro-dollars per million tokens; image_input_tokens
// is the per-image ceiling of Price.ImageInputTokens (absent: images cannot
// be bounded), and an optional top-level "notes" array of strings documents
// the table. It returns an error for unknown fields, a missing or malformed
// as_of date, an entry without a model, input or output, a negative price
// or image ceiling, or a model listed twice.
func ParsePriceTable(data []byte) (*PriceTable, error) {
	var f priceFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("metering: parse price table: %w", err)
	}
	asOf, err := time.Parse(time.DateOnly, f.AsOf)
	if err != nil {
		return nil, fmt.Errorf("metering: parse price table: as_of: %w", err)
	}
	// Presence of input and output is checked on the raw entries, since a
	// zero price is legitimate (embeddings have no output).
	var raw struct {
		Models []map[string]json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("metering: parse price table: %w", err)
	}
	s := &priceState{asOf: asOf, source: f.Source, models: make(map[string]Price, len(f.Models))}
	for i, m := range f.Models {
		if m.Model == "" {
			return nil, fmt.Errorf("metering: parse price table: entry %d has no model", i)
		}
		for _, k := range [...]string{"input", "output"} {
			if _, ok := raw.Models[i][k]; !ok {
				return nil, fmt.Errorf("metering: parse price table: %s has no %s price", m.Model, k)
			}
		}
		if err := m.Price.validate(); err != nil {
			return nil, fmt.Errorf("metering: parse price table: %s: %w", m.Model, err)
		}
		if _, dup := s.models[m.Model]; dup {
			return nil, fmt.Errorf("metering: parse price table: %s listed twice", m.Model)
		}
		s.models[m.Model] = m.Price
	}
	t := new(PriceTable)
	t.state.Store(s)
	return t, nil
}

func (t *PriceTable) load() *priceState {
	if t == nil {
		return nil
	}
	return t.state.Load()
}

// AsOf returns the date the table's prices were taken, or the zero time if
// unknown.
func (t *PriceTable) AsOf() time.Time {
	if s := t.load(); s != nil {
		return s.asOf
	}
	return time.Time{}
}

// Source describes where the table's prices come from.
func (t *PriceTable) Source() string {
	if s := t.load(); s != nil {
		return s.source
	}
	return ""
}

// Models returns the model names that have an entry, sorted.
func (t *PriceTable) Models() []string {
	s := t.load()
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.models))
}

// Lookup returns the price of model, resolving snapshot names as described
// on PriceTable. It ignores the fallback price.
func (t *PriceTable) Lookup(model string) (Price, bool) {
	s := t.load()
	if s == nil {
		return Price{}, false
	}
	if p, ok := s.models[model]; ok {
		return p, true
	}
	name := strings.TrimPrefix(model, "models/")
	for {
		if p, ok := s.models[name]; ok {
			return p, true
		}
		base, ok := trimSnapshot(name)
		if !ok {
			return Price{}, false
		}
		name = base
	}
}

// PriceFor returns the price a call to model is charged at: its own (see
// Lookup for how names resolve), else the fallback. known reports whether
// the model had its own price; ok whether any price applied.
func (t *PriceTable) PriceFor(model string) (p Price, known, ok bool) {
	if p, ok := t.Lookup(model); ok {
		return p, true, true
	}
	if s := t.load(); s != nil && s.hasFallback {
		return s.fallback, false, true
	}
	return Price{}, false, false
}

// Cost returns what a call to model with usage u costs, in micro-dollars
// rounded up (see Price.Cost). known is false when the model has no price
// of its own: the cost is then computed from the fallback price, or zero
// without one, and the event should be flagged PriceUnknown.
func (t *PriceTable) Cost(model string, u Usage) (micros int64, known bool) {
	p, known, ok := t.PriceFor(model)
	if !ok {
		return 0, false
	}
	return p.Cost(u), known
}

// MaxCost returns the worst-case cost of a call to model (see
// Price.MaxCost), the amount a gateway reserves before forwarding. known is
// as for Cost.
func (t *PriceTable) MaxCost(model string, inputTokens, maxOutputTokens int64) (micros int64, known bool) {
	p, known, ok := t.PriceFor(model)
	if !ok {
		return 0, false
	}
	return p.MaxCost(inputTokens, maxOutputTokens), known
}

// CheckPriced returns nil if a call to model can be costed, by its own
// price or by the fallback, and ErrUnpriced otherwise. A gateway calls it
// before admitting a key that has a budget, since an unpriced call would
// spend nothing against it.
func (t *PriceTable) CheckPriced(model string) error {
	if _, _, ok := t.PriceFor(model); !ok {
		return ErrUnpriced
	}
	return nil
}

// Set adds or replaces the price of model, an exact name. It returns an
// error for an empty name or a negative price.
func (t *PriceTable) Set(model string, p Price) error {
	if model == "" {
		return errors.New("metering: set price: empty model name")
	}
	if err := p.validate(); err != nil {
		return fmt.Errorf("metering: set price: %w", err)
	}
	t.update(func(s *priceState) { s.models[model] = p })
	return nil
}

// SetFallback sets the price used for models without one of their own.
// Costs computed with it are still reported as unknown. It returns an error
// for a negative price.
func (t *PriceTable) SetFallback(p Price) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("metering: set fallback price: %w", err)
	}
	t.update(func(s *priceState) { s.fallback, s.hasFallback = p, true })
	return nil
}

// Fallback returns the fallback price and whether one is set.
func (t *PriceTable) Fallback() (Price, bool) {
	if s := t.load(); s != nil {
		return s.fallback, s.hasFallback
	}
	return Price{}, false
}

// update applies f to a copy of the state and publishes the copy.
func (t *PriceTable) update(f func(*priceState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next priceState
	if s := t.state.Load(); s != nil {
		next = *s
	}
	next.models = maps.Clone(next.models)
	if next.models == nil {
		next.models = make(map[string]Price)
	}
	f(&next)
	t.state.Store(&next)
}

// trimSnapshot drops one trailing snapshot marker from name.
func trimSnapshot(name string) (string, bool) {
	if base, ok := strings.CutSuffix(name, "-latest"); ok {
		return base, true
	}
	n := len(name)
	// -YYYY-MM-DD
	if n > 11 && name[n-11] == '-' && digits(name[n-10:n-6]) && name[n-6] == '-' &&
		digits(name[n-5:n-3]) && name[n-3] == '-' && digits(name[n-2:]) {
		return name[:n-11], true
	}
	// -YYYYMMDD or @YYYYMMDD
	if n > 9 && (name[n-9] == '-' || name[n-9] == '@') && digits(name[n-8:]) {
		return name[:n-9], true
	}
	// -NNN
	if n > 4 && name[n-4] == '-' && digits(name[n-3:]) {
		return name[:n-4], true
	}
	return "", false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
