package abuse

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

// FuzzOps runs a sequence of calls on a few keys with a fuzzed clock
// (mostly forward, sometimes a little back) against a model of the LRU: it
// must not panic, Stats must match the model, and signals must be sane and
// spaced by Cooldown for a key that stayed tracked.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 5, 2, 10, 3, 3, 200, 15, 0, 4, 9})
	f.Add([]byte{2, 0, 2, 0, 2, 0, 2, 0, 3, 255, 2, 1, 2, 2, 2, 3})
	f.Add([]byte{0, 0, 3, 60, 0, 0, 3, 60, 0, 0, 3, 60, 1, 200, 1, 200, 0, 0, 0, 0})
	const maxKeys, cooldown = 3, 30 * time.Second
	f.Fuzz(func(t *testing.T, ops []byte) {
		d, clk, rec := newTest(t, &Options{
			MaxKeys: maxKeys, WarmupMinutes: 1, MinRate: 1, MinTokens: 1, JumpFactor: 1,
			SpreadWindow: 10 * time.Second, SpreadThreshold: 2, BurstWindow: 5 * time.Second, BurstThreshold: 2,
			Cooldown: cooldown,
		})
		keys := [...]string{"a", "b", "c", "d", "e"}
		var lru []string                          // model: most recent last
		last := map[string]*[numKinds]time.Time{} // each tracked key's last signals
		var evictions uint64
		touch := func(k string) {
			for i, x := range lru {
				if x == k {
					lru = append(lru[:i], lru[i+1:]...)
					lru = append(lru, k)
					return
				}
			}
			if len(lru) == maxKeys {
				delete(last, lru[0])
				lru, evictions = lru[1:], evictions+1
			}
			lru = append(lru, k)
			last[k] = new([numKinds]time.Time)
		}
		seen := 0 // signals checked
		for len(ops) >= 2 {
			op, arg := ops[0], ops[1]
			ops = ops[2:]
			key := keys[int(op>>3)%len(keys)]
			addr := netip.AddrFrom4([4]byte{10, 0, arg % 8, 1})
			if arg&0x80 != 0 {
				addr = netip.AddrFrom16([16]byte{0x20, 0x01, 5: arg, 15: 1})
			}
			switch op & 7 {
			case 0, 1:
				touch(key)
				d.Request(key, addr)
			case 2:
				touch(key)
				d.Refused(key, addr)
			case 3:
				if n := int64(arg) - 10; n > 0 {
					touch(key)
				}
				d.Tokens(key, int64(arg)-10)
			case 4, 5:
				clk.Advance(time.Duration(arg) * time.Duration(arg) * 10 * time.Millisecond)
			case 6:
				if back := time.Duration(arg) * 10 * time.Millisecond; clk.Now().Add(-back).After(start) {
					clk.Advance(-back)
				}
			case 7:
				clk.Advance(time.Duration(arg) * time.Hour)
			}
			sigs := rec.all()
			for _, s := range sigs[seen:] {
				if l := last[s.KeyID]; l == nil || !l[s.Kind%numKinds].IsZero() && s.At.Sub(l[s.Kind%numKinds]) < cooldown {
					t.Fatalf("signal %+v: untracked key or within the cooldown of %v", s, l)
				} else {
					l[s.Kind%numKinds] = s.At
				}
			}
			seen = len(sigs)
		}
		sigs, st := rec.all(), d.Stats()
		if st.Keys != len(lru) || st.Evictions != evictions {
			t.Fatalf("Stats Keys, Evictions = %d, %d; model %d, %d", st.Keys, st.Evictions, len(lru), evictions)
		}
		var perKind [numKinds]uint64
		for _, s := range sigs {
			if s.Kind >= numKinds || s.KeyID == "" || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) ||
				math.IsNaN(s.Baseline) || math.IsInf(s.Baseline, 0) || s.Value <= 0 {
				t.Fatalf("bad signal %+v", s)
			}
			if s.Kind != RefusalBurst && s.Value <= s.Baseline {
				t.Fatalf("signal %+v: Value not above Baseline", s)
			}
			perKind[s.Kind]++
		}
		if st.Signals != perKind {
			t.Fatalf("Stats.Signals = %v; OnSignal saw %v", st.Signals, perKind)
		}
	})
}
