package ratelimit

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// The shard tests read per-shard counts, so they live inside the package.

// authShardLens returns the number of clients held by each of a's shards.
func authShardLens(a *AuthThrottle) []int { return a.mem.table.Lens() }

// memShardLens returns the number of subjects held by each of m's shards.
func memShardLens(m *Memory) []int { return m.table.Lens() }

// checkSpread fails t unless lens has 16 shards holding want entries in all,
// each between 0.5 and 1.5 times the mean. With at least 4,096 entries a
// shard, half the mean is over 30 standard deviations of a uniform hash.
func checkSpread(t *testing.T, lens []int, want int) {
	t.Helper()
	if len(lens) != 16 {
		t.Fatalf("got %d shards; want 16", len(lens))
	}
	lo, hi, sum := lens[0], lens[0], 0
	for _, n := range lens {
		lo, hi, sum = min(lo, n), max(hi, n), sum+n
	}
	if sum != want {
		t.Fatalf("got %d entries held; want %d", sum, want)
	}
	mean := float64(sum) / float64(len(lens))
	t.Logf("per-shard occupancy: min %d, mean %.1f, max %d", lo, mean, hi)
	if float64(hi) > 1.5*mean || float64(lo) < 0.5*mean {
		t.Errorf("per-shard occupancy min %d, max %d; want within [%.0f, %.0f] (mean %.1f): %v",
			lo, hi, 0.5*mean, 1.5*mean, mean, lens)
	}
}

func TestAuthThrottleShardSpread(t *testing.T) {
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	tests := []struct {
		name string
		opts AuthThrottleOptions
		n    int                    // distinct clients
		addr func(i int) netip.Addr // an address of client i
	}{
		{
			name: "IPv4 consecutive from 10.0.0.0",
			n:    100_000,
			addr: v4,
		},
		{
			name: "IPv4 every last octet of the /24s in 198.18.0.0/15",
			n:    512 * 256,
			addr: func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}) },
		},
		{
			name: "IPv4 /24 clients in 10.0.0.0/8",
			opts: AuthThrottleOptions{IPv4Prefix: 24},
			n:    1 << 16,
			addr: func(i int) netip.Addr { return v4(i<<8 | 77) },
		},
		{
			name: "IPv6 /64s differing in bits 48-63",
			n:    1 << 16,
			addr: func(i int) netip.Addr {
				return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 6: byte(i >> 8), 7: byte(i), 15: 1})
			},
		},
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.MaxClients = 1 << 22 // 16 shards, none full: nothing evicted
			a, err := NewAuthThrottle(&tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.n {
				a.Fail(tt.addr(i), now)
			}
			checkSpread(t, authShardLens(a), tt.n)
		})
	}
}

func TestMemoryShardSpread(t *testing.T) {
	const n = 100_000
	m, err := NewMemory(&MemoryOptions{MaxSubjects: 1 << 22}) // 16 shards, none full
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	buf := []byte("key_")
	for i := range n {
		buf = strconv.AppendInt(buf[:4], int64(i), 10)
		if _, _, err := m.TakeRequests(ctx, string(buf), 60, 1, now); err != nil {
			t.Fatal(err)
		}
	}
	checkSpread(t, memShardLens(m), n)
}
