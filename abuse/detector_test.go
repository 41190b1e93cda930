package abuse

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

// steadyThenJump feeds key an hour at 10 calls a minute, checks nothing was
// raised, then a minute at 500, and returns the signals of that minute.
func steadyThenJump(t *testing.T, call func(d *Detector)) []Signal {
	t.Helper()
	d, clk, rec := newTest(t, nil)
	for range 60 {
		spread(clk, 10, time.Minute, func(int) { call(d) })
	}
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("steady hour raised %v; want nothing", got)
	}
	jump := clk.Now()
	spread(clk, 500, time.Minute, func(int) { call(d) })
	got := rec.all()
	for _, s := range got {
		if s.At.Before(jump) || !s.At.Before(jump.Add(time.Minute)) {
			t.Errorf("signal at %v; want within the jump minute from %v", s.At, jump)
		}
	}
	return got
}

func TestRateJump(t *testing.T) {
	got := steadyThenJump(t, func(d *Detector) { d.Request("k1", home) })
	if len(got) != 1 || got[0].Kind != RateJump || got[0].KeyID != "k1" {
		t.Fatalf("jump raised %v; want one rate_jump for k1", got)
	}
	if s := got[0]; s.Value < 300 || s.Value > 800 || s.Baseline < 9 || s.Baseline > 11 {
		t.Fatalf("Value, Baseline = %.1f, %.1f; want about 500, 10", s.Value, s.Baseline)
	}
}

func TestTokenJump(t *testing.T) {
	got := steadyThenJump(t, func(d *Detector) { d.Tokens("k1", 100) })
	if len(got) != 1 || got[0].Kind != TokenJump {
		t.Fatalf("jump raised %v; want one token_jump", got)
	}
	if s := got[0]; s.Value < 30_000 || s.Value > 80_000 || s.Baseline < 900 || s.Baseline > 1100 {
		t.Fatalf("Value, Baseline = %.0f, %.0f; want about 50000, 1000", s.Value, s.Baseline)
	}
}

func TestNoJump(t *testing.T) {
	t.Run("diurnal ramp 100 to 300 over 6h", func(t *testing.T) {
		d, clk, rec := newTest(t, nil)
		for m := range 360 {
			n := 100 + 200*m/360
			spread(clk, n, time.Minute, func(int) {
				d.Request("k", home)
				d.Tokens("k", 50)
			})
		}
		if got := rec.all(); len(got) != 0 {
			t.Fatalf("ramp raised %v; want nothing", got)
		}
	})
	for _, tt := range []struct {
		factor float64
		want   int
	}{{0, 0}, {1.5, 1}} { // 1.5: the same doubling must flag
		t.Run(fmt.Sprintf("doubling with JumpFactor %v", tt.factor), func(t *testing.T) {
			d, clk, rec := newTest(t, &Options{JumpFactor: tt.factor})
			for range 60 {
				spread(clk, 100, time.Minute, func(int) { d.Request("k", home) })
			}
			for range 5 {
				spread(clk, 200, time.Minute, func(int) { d.Request("k", home) })
			}
			if got := rec.count(RateJump); got != tt.want {
				t.Fatalf("rate_jump signals = %d; want %d", got, tt.want)
			}
		})
	}
}

func TestWarmupAndIdle(t *testing.T) {
	d, clk, rec := newTest(t, nil)
	// A new key may start high: nothing flags within WarmupMinutes.
	for range 10 {
		spread(clk, 10, time.Minute, func(int) { d.Request("k", home) })
	}
	if len(rec.all()) != 0 {
		t.Fatalf("warm-up raised %v; want nothing", rec.all())
	}
	// Back at the same rate after 3 idle hours: the means decayed towards
	// zero, yet MinRate keeps 10/min quiet; 500/min flags.
	clk.Advance(3 * time.Hour)
	spread(clk, 10, time.Minute, func(int) { d.Request("k", home) })
	if len(rec.all()) != 0 {
		t.Fatalf("return at the old rate raised %v; want nothing", rec.all())
	}
	spread(clk, 500, time.Minute, func(int) { d.Request("k", home) })
	if got := rec.count(RateJump); got != 1 {
		t.Fatalf("rate_jump after idle hours = %d; want 1", got)
	}
}

// TestIdleClosedForm: k idle minutes folded at once equal k zero minutes
// folded one by one.
func TestIdleClosedForm(t *testing.T) {
	d, _, _ := newTest(t, nil)
	for _, k := range []int64{1, 2, 7, 50} {
		a := state{hist: 5, reqMean: 40, reqVar: 90, reqs: 70}
		b := a
		a.roll(d, (k+1)*nsPerMinute)
		for m := int64(1); m <= k+1; m++ {
			b.roll(d, m*nsPerMinute)
		}
		if math.Abs(a.reqMean-b.reqMean) > 1e-9 || math.Abs(a.reqVar-b.reqVar) > 1e-9*b.reqVar {
			t.Errorf("k=%d: closed form mean, var = %g, %g; loop %g, %g", k, a.reqMean, a.reqVar, b.reqMean, b.reqVar)
		}
	}
}

func TestNetworkSpread(t *testing.T) {
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i / 256), byte(i), 7}) }
	v6 := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 15: 1})
	}
	for _, tt := range []struct {
		name   string
		n      int
		offset time.Duration // start after the Detector's creation
		period time.Duration
		addr   func(i int) netip.Addr
		want   int
	}{
		{"20 /24s in 10m", 20, 0, 9*time.Minute + 30*time.Second, v4, 1},
		{"20 /24s across a window boundary", 20, 5 * time.Minute, 9*time.Minute + 30*time.Second, v4, 1},
		{"20 /48s in 10m", 20, 0, 9 * time.Minute, v6, 1},
		{"20 addresses in one /24", 20, 0, time.Minute, func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }, 0},
		{"20 addresses in one /48", 20, 0, time.Minute, func(i int) netip.Addr { return netip.AddrFrom16([16]byte{0x20, 0x01, 6: byte(i), 15: 1}) }, 0},
		{"mapped and plain IPv4 alike", 20, 0, time.Minute, func(i int) netip.Addr {
			if i%2 == 0 {
				return netip.AddrFrom16(netip.MustParseAddr("10.0.0.1").As16())
			}
			return netip.MustParseAddr("10.0.0.2")
		}, 0},
		{"10 /24s over an hour", 10, 0, time.Hour, v4, 0},
		{"16 /24s in 10m", 16, 0, 9 * time.Minute, v4, 0},
		{"invalid address", 20, 0, time.Minute, func(int) netip.Addr { return netip.Addr{} }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, clk, rec := newTest(t, nil)
			clk.Advance(tt.offset)
			spread(clk, tt.n, tt.period, func(i int) { d.Request("k", tt.addr(i)) })
			if got := rec.count(NetworkSpread); got != tt.want {
				t.Fatalf("network_spread signals = %d; want %d", got, tt.want)
			}
			if tt.want > 0 {
				s := rec.all()[0]
				if s.Value <= 16 || s.Value > float64(tt.n) || s.Baseline != 16 {
					t.Fatalf("Value, Baseline = %v, %v; want in (16, %d], 16", s.Value, s.Baseline, tt.n)
				}
			}
		})
	}
}

func TestRefusalBurst(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       int
		period  time.Duration
		minutes int
		want    int
	}{
		{"25 in a minute", 25, time.Minute, 1, 1},
		{"21 in a minute", 21, time.Minute, 1, 1},
		{"25 across a minute boundary", 25, 59 * time.Second, 1, 1},
		{"15 in a minute", 15, time.Minute, 1, 0},
		{"20 in a minute", 20, time.Minute, 1, 0},
		{"15 a minute for 10 minutes", 15, time.Minute, 10, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, clk, rec := newTest(t, nil)
			clk.Advance(30 * time.Second)
			for range tt.minutes {
				spread(clk, tt.n, tt.period, func(int) { d.Refused("k", home) })
			}
			if got := rec.count(RefusalBurst); got != tt.want {
				t.Fatalf("refusal_burst signals = %d; want %d", got, tt.want)
			}
			if got := rec.count(RateJump) + rec.count(NetworkSpread); got != 0 {
				t.Fatalf("refusals raised %d other signals; want 0", got)
			}
		})
	}
}

func TestCooldown(t *testing.T) {
	d, clk, rec := newTest(t, nil)
	// For 35 minutes the key keeps being refused in bursts from ever new
	// networks, and another key keeps jumping in tokens.
	for m := range 35 {
		spread(clk, 30, time.Minute, func(i int) {
			d.Refused("k", netip.AddrFrom4([4]byte{10, byte(m), byte(i), 1}))
		})
	}
	var at []time.Time
	for _, s := range rec.all() {
		if s.Kind == RefusalBurst {
			at = append(at, s.At)
		}
	}
	if got, want := rec.count(RefusalBurst), 4; got != want {
		t.Fatalf("refusal_burst signals = %d; want %d (one per 10m cooldown in 35m)", got, want)
	}
	if got, want := rec.count(NetworkSpread), 4; got != want {
		t.Fatalf("network_spread signals = %d; want %d", got, want)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 10*time.Minute {
			t.Fatalf("refusal_burst signals %v apart; want at least the cooldown", gap)
		}
	}
	st := d.Stats()
	if st.Signals[RefusalBurst] != 4 || st.Signals[NetworkSpread] != 4 || st.Signals[RateJump] != 0 {
		t.Fatalf("Stats.Signals = %v; want [0 0 4 4]", st.Signals)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{RateJump: "rate_jump", TokenJump: "token_jump", NetworkSpread: "network_spread", RefusalBurst: "refusal_burst", 9: "kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", k, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		o     Options
		field string // "" for valid
	}{
		{Options{}, ""},
		{Options{MaxKeys: 1, Alpha: 1, JumpFactor: 1, SpreadWindow: time.Second, SpreadThreshold: MaxSpreadThreshold, BurstThreshold: MaxBurstThreshold}, ""},
		{Options{MaxKeys: -1}, "MaxKeys"},
		{Options{Alpha: -0.1}, "Alpha"},
		{Options{Alpha: 1.5}, "Alpha"},
		{Options{Alpha: nan}, "Alpha"},
		{Options{JumpFactor: 0.5}, "JumpFactor"},
		{Options{JumpFactor: math.Inf(1)}, "JumpFactor"},
		{Options{JumpSigmas: -1}, "JumpSigmas"},
		{Options{JumpSigmas: nan}, "JumpSigmas"},
		{Options{MinRate: -1}, "MinRate"},
		{Options{MinTokens: nan}, "MinTokens"},
		{Options{WarmupMinutes: -1}, "WarmupMinutes"},
		{Options{SpreadWindow: -time.Second}, "SpreadWindow"},
		{Options{SpreadWindow: time.Millisecond}, "SpreadWindow"},
		{Options{SpreadThreshold: -1}, "SpreadThreshold"},
		{Options{SpreadThreshold: MaxSpreadThreshold + 1}, "SpreadThreshold"},
		{Options{BurstWindow: -1}, "BurstWindow"},
		{Options{BurstThreshold: -1}, "BurstThreshold"},
		{Options{BurstThreshold: MaxBurstThreshold + 1}, "BurstThreshold"},
		{Options{Cooldown: -time.Minute}, "Cooldown"},
	} {
		name := tt.field
		if name == "" {
			name = "valid"
		}
		t.Run(name, func(t *testing.T) {
			d, err := New(&tt.o)
			if tt.field == "" {
				if err != nil || d == nil {
					t.Fatalf("New = %v, %v; want a Detector", d, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded; want an error naming %s", tt.field)
			}
			if want := "abuse: Options." + tt.field + " "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
				t.Fatalf("error %q; want it to start with %q", err, want)
			}
		})
	}
	if d, err := New(nil); err != nil || d.o.MaxKeys != DefaultMaxKeys || d.o.Cooldown != DefaultCooldown {
		t.Fatalf("New(nil) = %+v, %v; want the defaults", d, err)
	}
}
