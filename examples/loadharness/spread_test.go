package main

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSpread checks the median, lowest and highest of finite values.
func TestSpread(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		in            []float64
		med, lo, hi   float64
		wantUndefined bool
	}{
		{in: []float64{3, 1, 2}, med: 2, lo: 1, hi: 3},
		{in: []float64{4, 1, 3, 2}, med: 2.5, lo: 1, hi: 4},
		{in: []float64{0.9}, med: 0.9, lo: 0.9, hi: 0.9},
		{in: []float64{nan, 2, inf, 1}, med: 1.5, lo: 1, hi: 2},
		{in: []float64{nan, inf}, wantUndefined: true},
		{in: nil, wantUndefined: true},
	} {
		in := slices.Clone(tc.in)
		med, lo, hi := spread(in)
		if tc.wantUndefined {
			if !math.IsNaN(med) || !math.IsNaN(lo) || !math.IsNaN(hi) {
				t.Errorf("spread(%v) = %v, %v, %v; want NaNs", tc.in, med, lo, hi)
			}
			continue
		}
		if med != tc.med || lo != tc.lo || hi != tc.hi {
			t.Errorf("spread(%v) = %v, %v, %v; want %v, %v, %v", tc.in, med, lo, hi, tc.med, tc.lo, tc.hi)
		}
		if !slices.EqualFunc(in, tc.in, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
			t.Errorf("spread changed its argument: %v; was %v", in, tc.in)
		}
	}
}

// spreadRows parses the spread tables of a report: kind → metric → the
// median, lowest, highest and each round's ratio, for rounds rounds.
func spreadRows(report string, rounds int) map[string]map[string][]float64 {
	rows := map[string]map[string][]float64{}
	for line := range strings.SplitSeq(report, "\n") {
		f := strings.Fields(line)
		if len(f) != 5+rounds || f[1] == "ratio" {
			continue
		}
		var vs []float64
		for _, s := range f[2:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				vs = nil
				break
			}
			vs = append(vs, v)
		}
		if vs == nil {
			continue
		}
		if rows[f[0]] == nil {
			rows[f[0]] = map[string][]float64{}
		}
		rows[f[0]][f[1]] = vs
	}
	return rows
}

// TestHarnessRoundsAA runs an A/A report (-aa, a second bare proxy in
// wicket's place) of three rounds in a child process (-split), and checks
// that every ratio has its spread, consistent with the rounds' own ratios,
// and that the two targets are the same proxy: their allocations per
// request, which do not drift between runs as time does, are within 10%
// (wicket's are about two thirds of the bare proxy's).
func TestHarnessRoundsAA(t *testing.T) {
	const rounds = 3
	cfg, err := newConfig(150*time.Millisecond, 2, 3000, "one-conn-stream,saturated")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = cfg.withRounds(rounds); err != nil {
		t.Fatal(err)
	}
	cfg.split, cfg.aa = true, true
	var out bytes.Buffer
	if err := run(&out, cfg); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	if !strings.Contains(report, "A/A: bare httputil.ReverseProxy") || !strings.Contains(report, "3 rounds, each") {
		t.Errorf("the header does not say the run is A/A of 3 rounds:\n%s", report)
	}
	pooled, spreads := table(report), spreadRows(report, rounds)
	for _, k := range cfg.kinds {
		metrics := []string{"req/s", "latency-p50-us", "latency-p99-us", "cpu-us/req", "allocs/req"}
		if k.stream {
			metrics = append(metrics, "ttfb-p50-us", "ttfb-p99-us")
		}
		for _, m := range metrics {
			vs, ok := spreads[k.name][m]
			if !ok {
				t.Errorf("no spread of %s %s", k.name, m)
				continue
			}
			med, lo, hi, each := vs[0], vs[1], vs[2], slices.Sorted(slices.Values(vs[3:]))
			// The figures are printed to 3 decimals.
			if math.Abs(lo-each[0]) > 0.0015 || math.Abs(hi-each[rounds-1]) > 0.0015 || math.Abs(med-each[rounds/2]) > 0.0015 {
				t.Errorf("%s %s spread = median %v, lowest %v, highest %v; rounds' ratios %v", k.name, m, med, lo, hi, vs[3:])
			}
			if lo <= 0 {
				t.Errorf("%s %s: a round's ratio is %v; want > 0", k.name, m, lo)
			}
		}
		f := pooled[k.name]["allocs/req"]
		if f == nil {
			t.Fatalf("no pooled %s allocs/req row:\n%s", k.name, report)
		}
		if r, err := strconv.ParseFloat(f[2], 64); err != nil || r < 0.9 || r > 1.1 {
			t.Errorf("%s allocs/req ratio in an A/A run = %q; want within 10%% of 1:\n%s", k.name, f[2], report)
		}
	}
	if len(spreads) != len(cfg.kinds) {
		t.Errorf("spreads of %d kinds; want %d:\n%s", len(spreads), len(cfg.kinds), report)
	}
}

// TestWithRounds checks -rounds' validation.
func TestWithRounds(t *testing.T) {
	cfg, err := newConfig(time.Second, 2, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rounds != 1 {
		t.Errorf("newConfig's rounds = %d; want 1", cfg.rounds)
	}
	for _, tc := range []struct {
		n     int
		valid bool
	}{{1, true}, {5, true}, {6, false}, {0, false}, {-1, false}, {maxRounds + 1, false}} {
		got, err := cfg.withRounds(tc.n)
		switch {
		case tc.valid && (err != nil || got.rounds != tc.n):
			t.Errorf("withRounds(%d) = %d rounds, %v; want %d, nil", tc.n, got.rounds, err, tc.n)
		case !tc.valid && (err == nil || !strings.Contains(err.Error(), "-")):
			t.Errorf("withRounds(%d) with 10 requests: err = %v; want one naming the flag", tc.n, err)
		}
	}
}
