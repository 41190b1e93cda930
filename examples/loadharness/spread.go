package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// With -rounds N, each kind is measured N times in one run. The main table
// pools the rounds; the spread table gives, for each ratio, its median,
// lowest and highest over the rounds, and each round's: how far one
// round's figure may be off, which a single run cannot tell. An A/A run
// (-aa, the bare proxy against itself) shows the same for the harness
// alone.

// spreadColumns lays out the spread table's columns: kind, metric,
// median, lowest, highest, and each round's ratio.
const spreadColumns = "%-17s %-14s %8s %8s %8s  %s\n"

// reportSpread writes kind k's spread over rounds, each one round's rows
// (rowsOf). It writes nothing for fewer than two rounds.
func reportSpread(out io.Writer, k kind, per [][]row) {
	if len(per) < 2 {
		return
	}
	fmt.Fprintf(out, spreadColumns, "kind", "ratio of", "median", "lowest", "highest", fmt.Sprintf("each of %d rounds", len(per)))
	for j, r := range per[0] {
		if !r.ratio {
			continue
		}
		ratios := make([]float64, len(per))
		each := make([]string, len(per))
		for i := range per {
			ratios[i] = per[i][j].wicket / per[i][j].bare
			each[i] = value("%.3f", ratios[i])
		}
		med, lo, hi := spread(ratios)
		fmt.Fprintf(out, spreadColumns, k.name, r.metric, value("%.3f", med), value("%.3f", lo), value("%.3f", hi), strings.Join(each, " "))
	}
	fmt.Fprintln(out)
}

// spread returns the median, lowest and highest of vs's finite values,
// or NaNs if there are none. The median of an even count is the mean of
// the middle two.
func spread(vs []float64) (median, lowest, highest float64) {
	finite := slices.DeleteFunc(slices.Clone(vs), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
	n := len(finite)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	slices.Sort(finite)
	median = finite[n/2]
	if n%2 == 0 {
		median = (finite[n/2-1] + finite[n/2]) / 2
	}
	return median, finite[0], finite[n-1]
}
