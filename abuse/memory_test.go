package abuse

import (
	"net/netip"
	"runtime"
	"strconv"
	"testing"
)

// TestMemory fills a Detector to MaxKeys keys, one request each, reports
// the heap they take and checks that more keys evict as many.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million keys")
	}
	// The race detector makes a million keys slow; a tenth shows the same.
	keys, more := 1_000_000, 100_000
	if raceEnabled {
		keys, more = 100_000, 10_000
	}
	const maxBytesPerKey = 480 // measured ~330 (Go 1.26, amd64), LRU included

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, clk, _ := newTest(t, &Options{MaxKeys: keys})
	buf := []byte("key_")
	for i := range keys {
		b := strconv.AppendInt(buf, int64(i), 10)
		d.Request(string(b), netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d keys: heap %.1f MB (%d bytes a key)", keys, float64(heap)/1e6, heap/int64(keys))
	if heap > maxBytesPerKey*int64(keys) {
		t.Errorf("heap %d bytes for %d keys; want at most %d a key", heap, keys, maxBytesPerKey)
	}

	// Shards hold an equal share each and the keys fall unevenly among
	// them, so a few fullest shards evict before the whole is full.
	st := d.Stats()
	if st.Keys+int(st.Evictions) != keys || st.Keys < keys*99/100 {
		t.Fatalf("after %d keys: Keys %d, Evictions %d; want Keys+Evictions = %[1]d, Keys at least 99%%", keys, st.Keys, st.Evictions)
	}
	clk.Advance(1)
	for i := range more {
		d.Request("more_"+strconv.Itoa(i), home)
	}
	// Now every shard is full: exactly `more` keys were dropped in all.
	if st = d.Stats(); st.Keys != keys || st.Evictions != uint64(more) {
		t.Fatalf("after %d more keys: Keys %d, Evictions %d; want %d, %d", more, st.Keys, st.Evictions, keys, more)
	}
	runtime.KeepAlive(d)
}
