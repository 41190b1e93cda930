package uplink

import (
	"strings"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	var tb Tail
	tb.Write([]byte("abc"))
	if string(tb.Bytes()) != "abc" || !tb.Whole() {
		t.Fatalf("short body: %q whole %v", tb.Bytes(), tb.Whole())
	}
	big := strings.Repeat("x", 3*TailSize) + "END"
	tb.Write([]byte(big))
	if tb.Whole() || !strings.HasSuffix(string(tb.Bytes()), "END") || len(tb.Bytes()) > 2*TailSize {
		t.Errorf("long body: %d bytes kept, whole %v", len(tb.Bytes()), tb.Whole())
	}
	for range 100 {
		tb.Write([]byte(strings.Repeat("y", 1000)))
	}
	if len(tb.Bytes()) > 2*TailSize || len(tb.Bytes()) < TailSize {
		t.Errorf("kept %d bytes; want between %d and %d", len(tb.Bytes()), TailSize, 2*TailSize)
	}
}
