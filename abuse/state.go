package abuse

import (
	"math"
	"math/bits"
	"net/netip"
)

const nsPerMinute = 60e9

// maxHistory caps state.hist, which only needs to reach WarmupMinutes.
const maxHistory = math.MaxInt32

// state is one key's state, guarded by its shard's lock. Times are
// nanoseconds after Detector.base.
type state struct {
	minute   uint32 // the minute that reqs and toks count
	reqs     uint32 // requests in the minute
	reqLimit uint32 // reqs above this flag; MaxUint32 while warming up
	hist     uint32 // past minutes folded into the means
	toks     int64  // tokens in the minute
	tokLimit int64  // toks above this flag; MaxInt64 while warming up

	reqMean, reqVar float64 // weighted mean and variance of past minutes
	tokMean, tokVar float64

	netSlot int64 // the SpreadWindow (since base) that nets[1] covers
	// nets are bitsets of the hashed networks seen in the previous and the
	// current SpreadWindow.
	nets [2][4]uint64

	last [numKinds]int64 // time+1 of the last signal of each kind; 0: never

	refusals *refusals // nil until the key's first refusal
}

// refusals holds the times+1 of a key's last BurstThreshold+1 refusals.
type refusals struct {
	at   []int64 // a ring
	next int     // the next element of at to write
}

// roll moves st to the minute of ns, folding each completed minute into the
// weighted means (idle minutes as zeros, in closed form) and setting the
// current minute's limits. A time before st's minute (a clock stepped back,
// or calls that raced for the lock) counts in st's minute.
func (st *state) roll(d *Detector, ns int64) {
	minute := uint32(ns / nsPerMinute) // 8000 years after base
	if minute <= st.minute {
		return
	}
	first := st.hist == 0
	st.reqMean, st.reqVar = fold(st.reqMean, st.reqVar, float64(st.reqs), d.o.Alpha, first)
	st.tokMean, st.tokVar = fold(st.tokMean, st.tokVar, float64(st.toks), d.o.Alpha, first)
	idle := int64(minute - st.minute - 1)
	if idle > 0 {
		// k zero minutes: mean_k = β^k·m, var_k = β^k·(var + m²(1-β^k)).
		p := math.Pow(d.beta, float64(idle))
		st.reqVar = p * (st.reqVar + st.reqMean*st.reqMean*(1-p))
		st.reqMean *= p
		st.tokVar = p * (st.tokVar + st.tokMean*st.tokMean*(1-p))
		st.tokMean *= p
	}
	st.hist = uint32(min(int64(st.hist)+1+idle, maxHistory))
	st.minute, st.reqs, st.toks = minute, 0, 0
	if st.hist < d.warmup {
		return
	}
	st.reqLimit = uint32(min(d.limit(st.reqMean, st.reqVar, d.o.MinRate), math.MaxUint32))
	st.tokLimit = int64(min(d.limit(st.tokMean, st.tokVar, d.o.MinTokens), math.MaxInt64/2))
}

// fold adds one minute's count x to a weighted mean and variance; the first
// minute sets the mean.
func fold(mean, variance, x, alpha float64, first bool) (float64, float64) {
	if first {
		return x, 0
	}
	diff := x - mean
	incr := alpha * diff
	return mean + incr, (1 - alpha) * (variance + diff*incr)
}

// limit returns the count in a minute above which a jump flags.
func (d *Detector) limit(mean, variance, floor float64) float64 {
	return math.Floor(max(mean*d.o.JumpFactor, mean+d.o.JumpSigmas*math.Sqrt(variance), floor))
}

// perMinute scales count, counted in st's minute up to ns, to a whole
// minute.
func (st *state) perMinute(count float64, ns int64) float64 {
	elapsed := max(ns-int64(st.minute)*nsPerMinute, 1e9)
	return count * nsPerMinute / float64(elapsed)
}

// network returns the bucket (0-255) of a's network: its /24 for IPv4
// (IPv4-mapped IPv6 included), its /48 for IPv6.
func network(a netip.Addr) (uint8, bool) {
	if !a.IsValid() {
		return 0, false
	}
	a = a.Unmap()
	var x uint64
	if a.Is4() {
		b := a.As4()
		x = 1<<60 | uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	} else {
		b := a.As16()
		x = 2<<60 | uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 |
			uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
	}
	// Fibonacci hashing spreads consecutive networks over the buckets.
	return uint8((x * 0x9e3779b97f4a7c15) >> 56), true
}

// sawNetwork records network bucket net at ns and raises NetworkSpread when
// the networks of the previous and current SpreadWindow exceed the
// threshold.
func (st *state) sawNetwork(d *Detector, out *signals, net uint8, ns int64) {
	if slot := ns / d.spreadNs; slot > st.netSlot {
		if slot == st.netSlot+1 {
			st.nets[0] = st.nets[1]
		} else {
			st.nets[0] = [4]uint64{}
		}
		st.nets[1] = [4]uint64{}
		st.netSlot = slot
	}
	w, bit := net>>6, uint64(1)<<(net&63)
	if st.nets[1][w]&bit != 0 {
		return
	}
	st.nets[1][w] |= bit
	n := 0
	for i := range st.nets[1] {
		n += bits.OnesCount64(st.nets[0][i] | st.nets[1][i])
	}
	if n > d.o.SpreadThreshold {
		d.raiseLocked(st, out, NetworkSpread, ns, float64(n), float64(d.o.SpreadThreshold))
	}
}

// refused records a refusal at ns and raises RefusalBurst when the oldest
// of the last BurstThreshold+1 refusals is within BurstWindow.
func (st *state) refused(d *Detector, out *signals, ns int64) {
	r := st.refusals
	if r == nil {
		r = &refusals{at: make([]int64, d.o.BurstThreshold+1)}
		st.refusals = r
	}
	r.at[r.next] = ns + 1
	r.next = (r.next + 1) % len(r.at)
	if oldest := r.at[r.next]; oldest == 0 || ns+1-oldest >= d.burstNs {
		return
	}
	n := 0
	for _, t := range r.at {
		if t != 0 && ns+1-t < d.burstNs {
			n++
		}
	}
	d.raiseLocked(st, out, RefusalBurst, ns, float64(n), float64(d.o.BurstThreshold))
}
