package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// row is one line of the report: a metric's value for both targets.
type row struct {
	metric       string
	bare, wicket float64
	// format prints a value; ratio says whether wicket ÷ bare means
	// something for this metric.
	format string
	ratio  bool
}

// reportColumns lays out the table's columns: kind, metric, bare, wicket,
// ratio.
const reportColumns = "%-17s %-14s %12s %12s %8s\n"

// report writes kind k's rows: b is the bare proxy's result, w wicket's.
func report(out io.Writer, k kind, b, w result) {
	fmt.Fprintf(out, reportColumns, "kind", "metric", "bare", "wicket", "ratio")
	for _, r := range rowsOf(k, b, w) {
		ratio := "-"
		if r.ratio {
			ratio = value("%.3f", r.wicket/r.bare)
		}
		fmt.Fprintf(out, reportColumns, k.name, r.metric, value(r.format, r.bare), value(r.format, r.wicket), ratio)
	}
	fmt.Fprintln(out)
}

// rowsOf is kind k's rows: b is the bare proxy's result, w wicket's, with
// their latencies sorted.
func rowsOf(k kind, b, w result) []row {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	both := func(metric, format string, ratio bool, f func(result) float64) row {
		return row{metric: metric, bare: f(b), wicket: f(w), format: format, ratio: ratio}
	}
	rows := []row{
		both("requests", "%.0f", false, func(r result) float64 { return float64(r.requests) }),
		both("failed", "%.0f", false, func(r result) float64 { return float64(r.failures) }),
		both("connections", "%.0f", false, func(r result) float64 { return float64(r.conns) }),
		both("req/s", "%.0f", true, result.rps),
		both("latency-p50-us", "%.1f", true, func(r result) float64 { return us(pct(r.latencies, 0.50)) }),
		both("latency-p99-us", "%.1f", true, func(r result) float64 { return us(pct(r.latencies, 0.99)) }),
	}
	if k.stream {
		rows = append(rows,
			both("ttfb-p50-us", "%.1f", true, func(r result) float64 { return us(pct(r.ttfb, 0.50)) }),
			both("ttfb-p99-us", "%.1f", true, func(r result) float64 { return us(pct(r.ttfb, 0.99)) }),
			both("events/stream", "%.1f", false, func(r result) float64 { return float64(r.events) / float64(r.requests) }),
		)
	}
	rows = append(rows,
		both("cpu-us/req", "%.1f", true, func(r result) float64 {
			if r.use.cpuUnknown {
				return math.NaN()
			}
			return us(r.use.cpu) / float64(r.requests)
		}),
		both("allocs/req", "%.1f", true, func(r result) float64 { return float64(r.use.mallocs) / float64(r.requests) }),
		both("bytes/req", "%.0f", true, func(r result) float64 { return float64(r.use.bytes) / float64(r.requests) }),
		both("reads/req", "%.2f", true, func(r result) float64 { return perRequest(r, r.use.reads) }),
		both("writes/req", "%.2f", true, func(r result) float64 { return perRequest(r, r.use.writes) }),
	)
	return rows
}

// perRequest is n system calls per request of r, or NaN where they are
// not counted.
func perRequest(r result, n uint64) float64 {
	if r.use.ioUnknown {
		return math.NaN()
	}
	return float64(n) / float64(r.requests)
}

// value formats v, or "n/a" if it is not a finite number.
func value(format string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}
