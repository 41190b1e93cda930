package hdrbatch

import (
	"net/http"
	"strings"
	"testing"
)

func TestBatch(t *testing.T) {
	h := http.Header{"Old": {"x"}, "A": {"replaced"}}
	var b Batch
	b.AddInt("A", 12)
	b.End("B", append(b.Cur(), "two"...))
	b.AddInt("C", -3)
	b.Flush(h)
	for k, want := range map[string]string{"A": "12", "B": "two", "C": "-3", "Old": "x"} {
		if got := h[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q; want [%q]", k, got, want)
		}
	}
	// An append to one value must not write into its neighbour.
	h["A"] = append(h["A"], "more")
	if h["B"][0] != "two" {
		t.Errorf("appending to A changed B: %q", h["B"])
	}
}

func TestBatchOutgrowsBuffer(t *testing.T) {
	h := http.Header{}
	var b Batch
	long := strings.Repeat("v", 200)
	for _, k := range []string{"A", "B", "C"} {
		b.End(k, append(b.Cur(), long+k...))
	}
	b.Flush(h)
	for _, k := range []string{"A", "B", "C"} {
		if got := h.Get(k); got != long+k {
			t.Errorf("%s: %d bytes, ending %q; want %d ending %q", k, len(got), got[max(len(got)-3, 0):], len(long)+1, k)
		}
	}
}

func TestBatchAtMostEight(t *testing.T) {
	h := http.Header{}
	var b Batch
	for i := range 10 {
		b.AddInt(string(rune('A'+i)), int64(i))
	}
	b.Flush(h)
	if len(h) != 8 || h.Get("I") != "" {
		t.Errorf("%d headers set (%v); want the first 8", len(h), h)
	}
}

func TestBatchAllocs(t *testing.T) {
	h := http.Header{}
	n := testing.AllocsPerRun(100, func() {
		clear(h)
		var b Batch
		for _, k := range []string{"A", "B", "C", "D", "E", "F"} {
			b.AddInt(k, 1234567)
		}
		b.Flush(h)
	})
	if n > 2 {
		t.Errorf("%v allocations; want at most 2", n)
	}
}
