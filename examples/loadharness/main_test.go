package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestHarnessRuns drives both targets briefly and checks the report: every
// request answered, both kinds measured, ratios printed.
func TestHarnessRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, 200*time.Millisecond, 4, 2000); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	report := out.String()
	rows := map[string]bool{}
	for _, line := range strings.Split(report, "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			rows[f[0]+" "+f[1]] = true
		}
	}
	for _, want := range []string{"non-streamed bare", "non-streamed wicket", "non-streamed ratio", "streamed bare", "streamed wicket", "streamed ratio"} {
		if !rows[want] {
			t.Errorf("report lacks a %q row:\n%s", want, report)
		}
	}
}
