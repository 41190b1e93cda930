// Command loadharness measures what the wicket chain costs against one
// bare Go proxy hop. It starts, on loopback in this one process, the
// deterministic fake upstream, a bare httputil.ReverseProxy in front of
// it, and a wicket gateway in front of it (keys, limits, a budget and
// metering all on), then drives each with the same bounded load and prints,
// in one table, wicket beside the bare proxy and their ratio for:
//
//   - one-conn: one client on one keep-alive connection, back to back,
//     whole answers: latency p50 and p99, requests per second;
//   - one-conn-stream: the same with 20-event streams: time to first byte
//     and total latency, p50 and p99;
//   - saturated and saturated-stream: -concurrency clients at once:
//     throughput, latency p50 and p99;
//
// and for every kind CPU time, allocations and bytes allocated per request
// (the whole process's, see the report's header):
//
//	go run ./examples/loadharness -duration 5s -concurrency 32
//	go run ./examples/loadharness -kinds one-conn,one-conn-stream
//	go run ./examples/loadharness -kinds saturated -cpuprofile cpu.out
//
// -cpuprofile writes a CPU profile of the whole run (both targets: their
// code is told apart by package, wicket's or net/http/httputil's).
//
// -split runs both proxies in a child process instead: the harness
// re-executes its own binary, which serves them on loopback in front of
// the fake upstream left in the harness with the clients, and reads the
// child's CPU time and allocations before and after each run from the
// child's control endpoint. The per-request CPU and allocations are then
// the proxy process's alone, which the clients' and the upstream's work,
// the same for both targets, no longer dilutes; latency and throughput
// are measured as without it. With -split, -cpuprofile profiles the child
// alone. The child exits when the harness closes its stdin, or dies:
//
//	go run ./examples/loadharness -split
//	go run ./examples/loadharness -split -kinds saturated -cpuprofile proxies.out
//
// -rounds N measures each kind N times in one run (each round its own
// halves, bare, wicket, wicket, bare): the tables pool the rounds, and
// under each a second table gives every ratio's median, lowest and
// highest over the rounds, and each round's. -aa puts a second, identical
// bare proxy in wicket's place: the ratios of such an A/A run are the
// harness's own noise, against which wicket's can be read:
//
//	go run ./examples/loadharness -split -kinds one-conn-stream -rounds 8
//	go run ./examples/loadharness -split -kinds one-conn-stream -rounds 8 -aa
//
// -soak runs, instead, wicket alone for that long with -concurrency
// clients and 20-event streams, one request in 10 abandoned by its client
// mid-stream, and samples the heap, goroutines and open files; it fails
// if they grow beyond a tolerance from start to end, or if the gateway's
// metering events are not one per request (-duration, -kinds and
// -max-requests do not apply):
//
//	go run ./examples/loadharness -soak 5m -concurrency 32
//
// Every request loop is bounded in count and time and stops by itself
// (and the child of -split is killed once the run's bound has passed);
// all traffic stays on 127.0.0.1.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

func main() {
	if upstreamURL, ok := os.LookupEnv(childEnv); ok {
		os.Exit(childMain(upstreamURL))
	}
	duration := flag.Duration("duration", 5*time.Second, "load per target and kind, run in two halves")
	concurrency := flag.Int("concurrency", 32, "concurrent clients in the saturated kinds")
	maxRequests := flag.Int("max-requests", 1_000_000, "cap on requests per target and kind")
	kindList := flag.String("kinds", "", "comma-separated kinds to run (default all: "+kindNames()+")")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (with -split, of the proxies' child alone)")
	split := flag.Bool("split", false, "run both proxies in a child process, so that CPU and allocations per request are the proxy process's alone")
	rounds := flag.Int("rounds", 1, "measure each kind this many times and add, under each table, every ratio's spread over the rounds")
	aa := flag.Bool("aa", false, "A/A: a second bare proxy in wicket's place, so that the ratios show the harness's own noise")
	soak := flag.Duration("soak", 0, "instead, run wicket alone this long with 10% of streams abandoned, and check heap, goroutines, open files and metering stay flat")
	flag.Parse()
	cfg, err := newConfig(*duration, *concurrency, *maxRequests, *kindList)
	if err == nil {
		cfg, err = cfg.withRounds(*rounds)
	}
	cfg.aa = *aa
	var soakCfg soakConfig
	if err == nil && *soak != 0 {
		soakCfg, err = newSoakConfig(*soak, *concurrency)
	}
	switch {
	case err == nil && *soak != 0 && (*split || *aa || *rounds != 1):
		err = fmt.Errorf("-split, -aa and -rounds do not apply to -soak")
	case err == nil && *split:
		cfg.split, cfg.childProfile = true, *cpuProfile
	}
	if err == nil && *cpuProfile != "" && !*split {
		var stop func() error
		if stop, err = startCPUProfile(*cpuProfile); err == nil {
			defer func() {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, "loadharness:", err)
				}
			}()
		}
	}
	switch {
	case err != nil:
	case *soak != 0:
		err = runSoak(os.Stdout, soakCfg)
	default:
		err = run(os.Stdout, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadharness:", err)
		os.Exit(1)
	}
}

// startCPUProfile starts a CPU profile written to path and returns the
// function that stops it and closes the file.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
