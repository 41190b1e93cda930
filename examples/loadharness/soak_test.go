package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// soakRows parses the soak's table of samples, from its header line to
// the blank line after it, into label → the fields after the label, and
// returns the labels in order.
func soakRows(report string) (map[string][]string, []string) {
	rows := map[string][]string{}
	var labels []string
	in := false
	for line := range strings.SplitSeq(report, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "at":
			in = true
		case in && len(f) == 0:
			return rows, labels
		case in:
			rows[f[0]] = f[1:]
			labels = append(labels, f[0])
		}
	}
	return rows, labels
}

// match returns re's submatches in report parsed as integers, failing the
// test if re does not match or a submatch is not an integer.
func match(t *testing.T, report string, re *regexp.Regexp) []int64 {
	t.Helper()
	m := re.FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("report lacks a line matching %q:\n%s", re, report)
	}
	var ns []int64
	for _, s := range m[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%q in %q: %v", s, m[0], err)
		}
		ns = append(ns, n)
	}
	return ns
}

// TestSoak runs a short soak with a few clients and checks its report: a
// start row, one a tenth under load and an end row, every figure a
// number; streams abandoned at every cut point, and seen leaving by the
// gateway; one metering event per request; a flat verdict whose figures
// are the start and end rows'.
func TestSoak(t *testing.T) {
	cfg, err := newSoakConfig(3*time.Second, 4)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runSoak(&out, cfg); err != nil {
		t.Fatalf("runSoak: %v\n%s", err, out.String())
	}
	report := out.String()
	rows, labels := soakRows(report)
	want := []string{"start"}
	for i := 1; i < soakMarks; i++ {
		want = append(want, fmt.Sprintf("%d%%", 100*i/soakMarks))
	}
	want = append(want, "end")
	if strings.Join(labels, ",") != strings.Join(want, ",") {
		t.Fatalf("samples %v; want %v:\n%s", labels, want, report)
	}
	fdsKnown := openFiles() >= 0
	// Columns after the label: elapsed-s heap-mb goroutines open-fds
	// requests served abandoned events req/s.
	num := map[string][]float64{}
	for _, label := range want {
		if len(rows[label]) != 9 {
			t.Fatalf("%s row has %d fields after its label; want 9:\n%s", label, len(rows[label]), report)
		}
		for i, f := range rows[label] {
			switch {
			case i == 3 && !fdsKnown && f == "n/a", i == 8 && label == "start" && f == "-":
				num[label] = append(num[label], 0)
				continue
			}
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v < 0 || (i >= 1 && i <= 4 && v == 0) {
				t.Errorf("%s column %d = %q; want a positive number", label, i+2, f)
			}
			num[label] = append(num[label], v)
		}
	}
	end := num["end"]
	if end[4] != end[7] {
		t.Errorf("end: %v requests, %v events; want one event each", end[4], end[7])
	}
	if end[4] != end[5]+end[6] {
		t.Errorf("end: %v requests, %v served + %v abandoned; want the sum", end[4], end[5], end[6])
	}
	if start := num["start"]; end[4] <= start[4] {
		t.Errorf("requests %v at the end, %v at the start; want more", end[4], start[4])
	}

	c := match(t, report, regexp.MustCompile(`(?m)^clients: (\d+) requests sent, (\d+) read to the end, (\d+) abandoned \((\d+) after the headers, (\d+) after 1 event, (\d+) after 10 events;.*\), (\d+) failed$`))
	sent, completed, abandoned, failed := c[0], c[1], c[2], c[6]
	for i, n := range c[3:6] {
		if n == 0 {
			t.Errorf("no stream cut %s; want some", pointName(i))
		}
	}
	if abandoned != c[3]+c[4]+c[5] || abandoned == 0 || sent != completed+abandoned+failed || failed != 0 {
		t.Errorf("clients: %d sent, %d read to the end, %d abandoned (%v), %d failed; want some abandoned, none failed, and the sums to add up", sent, completed, abandoned, c[3:6], failed)
	}
	if lo, hi := sent/abandonEvery-1, sent/abandonEvery+1; abandoned < lo || abandoned > hi {
		t.Errorf("clients abandoned %d of %d requests; want one in %d", abandoned, sent, abandonEvery)
	}

	g := match(t, report, regexp.MustCompile(`(?m)^gateway: (\d+) requests, (\d+) served, (\d+) abandoned \((\d+) returned after the client left, (\d+) aborted\)$`))
	requests, served, gwAbandoned := g[0], g[1], g[2]
	if requests != sent || float64(requests) != end[4] || float64(served) != end[5] || float64(gwAbandoned) != end[6] {
		t.Errorf("gateway: %d requests, %d served, %d abandoned; want %d requests (the clients') and the end row's %v", requests, served, gwAbandoned, sent, end[4:7])
	}
	// The gateway sees many of the abandoned streams go (in practice
	// nearly all): the upstream's pace keeps it relaying when the client
	// leaves. It cannot see more go than left.
	if gwAbandoned <= abandoned/4 || gwAbandoned > abandoned || served < completed {
		t.Errorf("gateway: %d served, %d abandoned; clients: %d read to the end, %d abandoned; want the gateway to see over a quarter of the clients leave, and no more than left", served, gwAbandoned, completed, abandoned)
	}

	m := match(t, report, regexp.MustCompile(`(?m)^metering: (\d+) events recorded for (\d+) requests: ok$`))
	if m[0] != m[1] || m[1] != requests {
		t.Errorf("metering: %d events for %d requests; want one for each of the gateway's %d", m[0], m[1], requests)
	}

	v := regexp.MustCompile(`(?m)^verdict: heap-mb ([\d.]+) -> ([\d.]+) \([-+][\d.]+, allowed \+[\d.]+\), goroutines (\d+) -> (\d+) \([-+]\d+, allowed \+\d+\), open-fds (?:(\d+) -> (\d+) \([-+]\d+, allowed \+\d+\)|n/a): flat$`).FindStringSubmatch(report)
	if v == nil {
		t.Fatalf("report lacks a flat verdict:\n%s", report)
	}
	for i, col := range []int{1, 1, 2, 2, 3, 3} {
		if v[i+1] == "" && !fdsKnown {
			continue
		}
		got, err := strconv.ParseFloat(v[i+1], 64)
		row := num[[]string{"start", "end"}[i%2]]
		if err != nil || got != row[col] {
			t.Errorf("verdict's figure %d = %q; want the %s row's %v", i+1, v[i+1], []string{"start", "end"}[i%2], row[col])
		}
	}
}

// TestVerdict checks the tolerances: heap by 20% or 5 MB, whichever is
// larger; goroutines and open files by 10; unknown open files ignored.
func TestVerdict(t *testing.T) {
	const mb = 1 << 20
	start := sample{heap: 10 * mb, goroutines: 20, fds: 30}
	for _, tc := range []struct {
		name string
		end  sample
		want string // the growths flagged, or "flat"
	}{
		{"same", start, "flat"},
		{"shrunk", sample{heap: 2 * mb, goroutines: 4, fds: 12}, "flat"},
		{"at every limit", sample{heap: 15 * mb, goroutines: 30, fds: 40}, "flat"},
		{"heap over 5 MB", sample{heap: 15*mb + 1, goroutines: 20, fds: 30}, "GROWTH (heap)"},
		{"goroutines", sample{heap: 10 * mb, goroutines: 31, fds: 30}, "GROWTH (goroutines)"},
		{"open files", sample{heap: 10 * mb, goroutines: 20, fds: 41}, "GROWTH (open-fds)"},
		{"all", sample{heap: 100 * mb, goroutines: 200, fds: 300}, "GROWTH (heap, goroutines, open-fds)"},
		{"open files unknown", sample{heap: 10 * mb, goroutines: 20, fds: -1}, "flat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, grew := verdict(start, tc.end)
			if !strings.HasSuffix(line, ": "+tc.want) || grew != (tc.want != "flat") {
				t.Errorf("verdict = %q, %v; want it to end %q", line, grew, tc.want)
			}
		})
	}
	// Above 25 MB, 20% is more than 5 MB.
	big := sample{heap: 100 * mb, goroutines: 20, fds: 30}
	for _, tc := range []struct {
		heap uint64
		grew bool
	}{{120 * mb, false}, {120*mb + mb/2, true}} {
		end := big
		end.heap = tc.heap
		if line, grew := verdict(big, end); grew != tc.grew {
			t.Errorf("verdict from 100 MB to %d bytes = %q; want growth %v", tc.heap, line, tc.grew)
		}
	}
	if line, _ := verdict(start, sample{heap: 10 * mb, goroutines: 20, fds: -1}); !strings.Contains(line, "open-fds n/a") {
		t.Errorf("verdict without open files = %q; want open-fds n/a", line)
	}
}

// TestReadEvents reads up to a number of data lines however the stream
// is cut into reads, no further than needed, and fails on a stream that
// ends first.
func TestReadEvents(t *testing.T) {
	stream := "data: {\"a\":1}\n\nevent: x\ndata: {\"b\":\"data: no\"}\r\n\r\n: data: comment\n\ndata: [DONE]\n\n"
	for _, tc := range []struct {
		name string
		r    func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte a read", iotest.OneByteReader},
		{"half a read", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := range 4 {
				r := strings.NewReader(stream)
				got, err := readEvents(tc.r(r), make([]byte, 8), n)
				if err != nil || got < n {
					t.Errorf("readEvents(%d) = %d, %v; want at least %d, nil", n, got, err, n)
				}
				if n == 0 && r.Len() != len(stream) {
					t.Errorf("readEvents(0) read %d bytes; want none", len(stream)-r.Len())
				}
			}
			if got, err := readEvents(tc.r(strings.NewReader(stream)), make([]byte, 8), 4); !errors.Is(err, io.ErrUnexpectedEOF) || got != 3 {
				t.Errorf("readEvents(4) of 3 events = %d, %v; want 3, %v", got, err, io.ErrUnexpectedEOF)
			}
		})
	}
	r := strings.NewReader(stream)
	if _, err := readEvents(iotest.OneByteReader(r), make([]byte, 8), 1); err != nil || r.Len() != len(stream)-len("data:") {
		t.Errorf("readEvents(1) one byte a read: %v, left %d bytes; want the rest after the first data line's \"data:\"", err, r.Len())
	}
}

// TestCuts checks that the abandoned requests take every cut point both
// ways, in turn.
func TestCuts(t *testing.T) {
	seen := map[cut]bool{}
	for _, c := range cuts() {
		seen[c] = true
	}
	if len(seen) != 2*cutPointCount || len(cuts()) != 2*cutPointCount {
		t.Errorf("cuts() = %v; want each of %d points both ways, once", cuts(), cutPointCount)
	}
	if got := cutPoints(); got[0] != 0 || got[1] != 1 || got[2] != streamWords/2 {
		t.Errorf("cutPoints() = %v; want 0, 1, %d", got, streamWords/2)
	}
}

// TestNewSoakConfig checks the soak's flags' validation.
func TestNewSoakConfig(t *testing.T) {
	for _, tc := range []struct {
		duration    time.Duration
		concurrency int
		ok          bool
	}{
		{time.Minute, 32, true},
		{time.Second, 1, true},
		{0, 32, false},
		{-time.Second, 32, false},
		{time.Minute, 0, false},
	} {
		if _, err := newSoakConfig(tc.duration, tc.concurrency); (err == nil) != tc.ok {
			t.Errorf("newSoakConfig(%v, %d) = %v; want ok %v", tc.duration, tc.concurrency, err, tc.ok)
		}
	}
}
