package abuse

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/internal/shardlru"
)

// Defaults for the zero fields of [Options].
const (
	DefaultMaxKeys         = 100_000
	DefaultAlpha           = 0.1
	DefaultJumpFactor      = 10
	DefaultJumpSigmas      = 6
	DefaultMinRate         = 60
	DefaultMinTokens       = 10_000
	DefaultWarmupMinutes   = 10
	DefaultSpreadWindow    = 10 * time.Minute
	DefaultSpreadThreshold = 16
	DefaultBurstWindow     = time.Minute
	DefaultBurstThreshold  = 20
	DefaultCooldown        = 10 * time.Minute
)

// Limits on [Options] fields that size per-key state.
const (
	// MaxSpreadThreshold is the largest SpreadThreshold: networks are
	// counted in 256 hashed buckets, which undercount more as they fill.
	MaxSpreadThreshold = 64
	// MaxBurstThreshold is the largest BurstThreshold: a refused key keeps
	// the times of its last BurstThreshold+1 refusals.
	MaxBurstThreshold = 1000
)

// Options configures a [Detector]. Every zero field takes its default; a
// negative (or NaN) field is invalid.
type Options struct {
	// OnSignal is called with each signal, at most once per key and kind per
	// Cooldown, outside the Detector's locks, on the goroutine of the call
	// that raised it; it should return quickly. If nil, signals are only
	// counted in Stats.
	OnSignal func(Signal)

	// MaxKeys bounds the keys tracked; the least recently seen is dropped
	// first. Keys are spread over up to 16 shards, each holding an equal
	// share of MaxKeys and evicting on its own, so a shard may evict while
	// others still have room. Zero means DefaultMaxKeys.
	MaxKeys int

	// Alpha is the weight of each new minute in a key's weighted mean and
	// deviation, in (0, 1]. Zero means DefaultAlpha (0.1).
	Alpha float64
	// JumpFactor and JumpSigmas set the jump threshold: a minute above
	// max(mean×JumpFactor, mean+JumpSigmas×deviation) flags. JumpFactor must
	// be at least 1; zero means DefaultJumpFactor (10). Zero JumpSigmas means
	// DefaultJumpSigmas (6).
	JumpFactor float64
	JumpSigmas float64
	// MinRate is the requests per minute at or below which no RateJump
	// flags. Zero means DefaultMinRate (60).
	MinRate float64
	// MinTokens is the tokens per minute at or below which no TokenJump
	// flags. Zero means DefaultMinTokens (10,000).
	MinTokens float64
	// WarmupMinutes is the minutes of a key's history (counted from its
	// first call, idle minutes included) before it can raise a RateJump or
	// TokenJump. Zero means DefaultWarmupMinutes (10).
	WarmupMinutes int

	// SpreadWindow is the window, at least a second, in which client
	// networks are counted: a key flags when the networks seen in the
	// current and the previous window (windows are aligned to the
	// Detector's creation) exceed SpreadThreshold, so any burst of networks
	// within one SpreadWindow is caught. Zero means DefaultSpreadWindow (10
	// minutes).
	SpreadWindow time.Duration
	// SpreadThreshold is at most MaxSpreadThreshold. Zero means
	// DefaultSpreadThreshold (16).
	SpreadThreshold int

	// BurstWindow and BurstThreshold: more than BurstThreshold refusals
	// within BurstWindow flag. Zero BurstWindow means DefaultBurstWindow (a
	// minute); zero BurstThreshold means DefaultBurstThreshold (20), and it
	// is at most MaxBurstThreshold.
	BurstWindow    time.Duration
	BurstThreshold int

	// Cooldown is the least time between two signals of one kind for one
	// key. Zero means DefaultCooldown (10 minutes).
	Cooldown time.Duration

	// Now returns the current time. If nil, time.Now is used.
	Now func() time.Time
}

// Stats are a Detector's counters.
type Stats struct {
	Keys      int              // keys tracked now
	Evictions uint64           // keys dropped to stay within MaxKeys
	Signals   [numKinds]uint64 // signals raised (passed to OnSignal), indexed by Kind
}

// Detector keeps per-key abuse state and raises signals. Use [New]; the zero
// Detector is not usable. It is safe for concurrent use.
type Detector struct {
	o     Options
	base  time.Time // times in state are nanoseconds after base
	table *shardlru.Table[*state]
	evict func(*state) bool

	warmup   uint32
	beta     float64 // 1 - Alpha
	spreadNs int64
	burstNs  int64
	coolNs   int64

	evictions atomic.Uint64
	signals   [numKinds]atomic.Uint64
}

// New returns a Detector configured by opts, which may be nil. An invalid
// field fails naming it.
func New(opts *Options) (*Detector, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, err
	}
	table, err := shardlru.New[*state](o.MaxKeys)
	if err != nil {
		return nil, fmt.Errorf("abuse: %w", err)
	}
	d := &Detector{
		o:        o,
		base:     o.Now(),
		table:    table,
		warmup:   uint32(o.WarmupMinutes),
		beta:     1 - o.Alpha,
		spreadNs: int64(o.SpreadWindow),
		burstNs:  int64(o.BurstWindow),
		coolNs:   int64(o.Cooldown),
	}
	d.evict = func(*state) bool { d.evictions.Add(1); return true }
	return d, nil
}

// fill validates o and sets its defaults.
func (o *Options) fill() error {
	bad := func(field, why string) error { return errors.New("abuse: Options." + field + " " + why) }
	switch {
	case o.MaxKeys < 0:
		return bad("MaxKeys", "is negative")
	case !(o.Alpha >= 0 && o.Alpha <= 1):
		return bad("Alpha", "is not in (0, 1]")
	case !(o.JumpFactor == 0 || o.JumpFactor >= 1) || math.IsInf(o.JumpFactor, 0):
		return bad("JumpFactor", "is below 1 or not finite")
	case !(o.JumpSigmas >= 0) || math.IsInf(o.JumpSigmas, 0):
		return bad("JumpSigmas", "is negative or not finite")
	case !(o.MinRate >= 0) || math.IsInf(o.MinRate, 0):
		return bad("MinRate", "is negative or not finite")
	case !(o.MinTokens >= 0) || math.IsInf(o.MinTokens, 0):
		return bad("MinTokens", "is negative or not finite")
	case o.WarmupMinutes < 0 || o.WarmupMinutes > math.MaxInt32:
		return bad("WarmupMinutes", "is negative or too large")
	case o.SpreadWindow < 0 || o.SpreadWindow > 0 && o.SpreadWindow < time.Second:
		return bad("SpreadWindow", "is below a second")
	case o.SpreadThreshold < 0 || o.SpreadThreshold > MaxSpreadThreshold:
		return bad("SpreadThreshold", "is negative or above MaxSpreadThreshold")
	case o.BurstWindow < 0:
		return bad("BurstWindow", "is negative")
	case o.BurstThreshold < 0 || o.BurstThreshold > MaxBurstThreshold:
		return bad("BurstThreshold", "is negative or above MaxBurstThreshold")
	case o.Cooldown < 0:
		return bad("Cooldown", "is negative")
	}
	o.Alpha = cmp.Or(o.Alpha, DefaultAlpha)
	o.JumpFactor = cmp.Or(o.JumpFactor, DefaultJumpFactor)
	o.JumpSigmas = cmp.Or(o.JumpSigmas, DefaultJumpSigmas)
	o.MinRate = cmp.Or(o.MinRate, DefaultMinRate)
	o.MinTokens = cmp.Or(o.MinTokens, DefaultMinTokens)
	o.MaxKeys = cmp.Or(o.MaxKeys, DefaultMaxKeys)
	o.WarmupMinutes = cmp.Or(o.WarmupMinutes, DefaultWarmupMinutes)
	o.SpreadWindow = cmp.Or(o.SpreadWindow, DefaultSpreadWindow)
	o.SpreadThreshold = cmp.Or(o.SpreadThreshold, DefaultSpreadThreshold)
	o.BurstWindow = cmp.Or(o.BurstWindow, DefaultBurstWindow)
	o.BurstThreshold = cmp.Or(o.BurstThreshold, DefaultBurstThreshold)
	o.Cooldown = cmp.Or(o.Cooldown, DefaultCooldown)
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Request records one request by keyID from client. An invalid client
// (the zero netip.Addr) counts toward the rate but not the networks.
func (d *Detector) Request(keyID string, client netip.Addr) {
	now := d.o.Now()
	ns := d.since(now)
	net, hasNet := network(client)
	var out signals
	s := d.table.Lock(keyID)
	st := d.stateLocked(s, keyID, ns)
	st.roll(d, ns)
	if st.reqs < math.MaxUint32 {
		st.reqs++
	}
	if st.reqs > st.reqLimit {
		d.raiseLocked(st, &out, RateJump, ns, st.perMinute(float64(st.reqs), ns), st.reqMean)
	}
	if hasNet {
		st.sawNetwork(d, &out, net, ns)
	}
	s.Unlock()
	d.emit(keyID, now, &out)
}

// Tokens records n tokens used by a finished request of keyID. n <= 0 is
// ignored.
func (d *Detector) Tokens(keyID string, n int64) {
	if n <= 0 {
		return
	}
	now := d.o.Now()
	ns := d.since(now)
	var out signals
	s := d.table.Lock(keyID)
	st := d.stateLocked(s, keyID, ns)
	st.roll(d, ns)
	st.toks = satAdd(st.toks, n)
	if st.toks > st.tokLimit {
		d.raiseLocked(st, &out, TokenJump, ns, st.perMinute(float64(st.toks), ns), st.tokMean)
	}
	s.Unlock()
	d.emit(keyID, now, &out)
}

// Refused records a request of keyID from client refused by the key's scope
// or IP allowlist. It counts toward refusal bursts and, for a valid client,
// the key's networks, but not toward the key's rate (call Request for that).
func (d *Detector) Refused(keyID string, client netip.Addr) {
	now := d.o.Now()
	ns := d.since(now)
	net, hasNet := network(client)
	var out signals
	s := d.table.Lock(keyID)
	st := d.stateLocked(s, keyID, ns)
	st.refused(d, &out, ns)
	if hasNet {
		st.sawNetwork(d, &out, net, ns)
	}
	s.Unlock()
	d.emit(keyID, now, &out)
}

// Stats returns the Detector's counters. Keys is read shard by shard, so it
// may be slightly out of step with the other counters under concurrent use.
func (d *Detector) Stats() Stats {
	st := Stats{Keys: d.table.Len(), Evictions: d.evictions.Load()}
	for k := range st.Signals {
		st.Signals[k] = d.signals[k].Load()
	}
	return st
}

// since returns the nanoseconds from d.base to t, at least 0.
func (d *Detector) since(t time.Time) int64 {
	return max(int64(t.Sub(d.base)), 0)
}

// stateLocked returns keyID's state in s, creating it if needed.
func (d *Detector) stateLocked(s *shardlru.Shard[*state], keyID string, ns int64) *state {
	if st, ok := s.Get(keyID); ok {
		return st
	}
	st := &state{
		minute:   uint32(ns / nsPerMinute),
		reqLimit: math.MaxUint32,
		tokLimit: math.MaxInt64,
		netSlot:  ns / d.spreadNs,
	}
	s.Add(keyID, st, d.evict)
	return st
}

// signals holds the signals raised by one call, emitted after unlocking.
type signals struct {
	n int
	s [2]struct {
		kind            Kind
		value, baseline float64
	}
}

// raiseLocked queues a signal of kind for st unless one was raised within
// Cooldown.
func (d *Detector) raiseLocked(st *state, out *signals, kind Kind, ns int64, value, baseline float64) {
	if last := st.last[kind]; last != 0 && ns+1-last < d.coolNs {
		return
	}
	st.last[kind] = ns + 1 // 0 means never
	if out.n < len(out.s) {
		out.s[out.n].kind, out.s[out.n].value, out.s[out.n].baseline = kind, value, baseline
		out.n++
	}
}

// emit counts the queued signals and passes them to OnSignal.
func (d *Detector) emit(keyID string, at time.Time, out *signals) {
	for _, q := range out.s[:out.n] {
		d.signals[q.kind].Add(1)
		if d.o.OnSignal != nil {
			d.o.OnSignal(Signal{KeyID: keyID, Kind: q.kind, At: at, Value: q.value, Baseline: q.baseline})
		}
	}
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
