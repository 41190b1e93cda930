package abuse

import (
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRequest is one Request, for one hot key and for 10k keys in
// turn, from parallel goroutines on the real clock.
func BenchmarkRequest(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			d, err := New(nil)
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, n)
			for i := range keys {
				keys[i] = "key_" + strconv.Itoa(i)
				d.Request(keys[i], home) // warm up: create the state
			}
			addrs := [4]netip.Addr{home, netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::1"), {}}
			var next atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919)
				for pb.Next() {
					i++
					d.Request(keys[i%n], addrs[i&3])
				}
			})
		})
	}
}

// TestRequestAllocs: after a key's first call, Request, Tokens and Refused
// allocate nothing, across minutes and with signals raised.
func TestRequestAllocs(t *testing.T) {
	var n int
	d, clk, _ := newTest(t, &Options{OnSignal: func(Signal) { n++ }, WarmupMinutes: 1, MinRate: 1, SpreadThreshold: 1, BurstThreshold: 1})
	d.Refused("k", home)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		clk.Advance(time.Second)
		d.Request("k", netip.AddrFrom4([4]byte{10, 0, byte(i), 1}))
		d.Tokens("k", 100)
		d.Refused("k", home)
	})
	if allocs != 0 {
		t.Fatalf("allocs per call = %v; want 0", allocs)
	}
	if d.Stats().Signals[RefusalBurst] == 0 {
		t.Fatal("no signal raised; want the signal path measured too")
	}
}
