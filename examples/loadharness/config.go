package main

import (
	"fmt"
	"strings"
	"time"
)

// kind is one way of loading a target.
type kind struct {
	name string
	// stream asks for a streamed answer of streamWords content events.
	stream bool
	// single runs one client on one connection, back to back, instead of
	// config.concurrency clients at once.
	single bool
}

// kinds returns every kind, in the order the report lists them.
func kinds() []kind {
	return []kind{
		{name: "one-conn", single: true},
		{name: "one-conn-stream", single: true, stream: true},
		{name: "saturated"},
		{name: "saturated-stream", stream: true},
	}
}

// kindNames is the kinds' names, comma-separated.
func kindNames() string {
	var names []string
	for _, k := range kinds() {
		names = append(names, k.name)
	}
	return strings.Join(names, ",")
}

// config is one run's settings.
type config struct {
	// duration is the load per target and kind, split in two halves.
	duration time.Duration
	// concurrency is the number of clients in the saturated kinds.
	concurrency int
	// maxRequests caps the requests per target and kind.
	maxRequests int
	// kinds are the kinds to run, in report order.
	kinds []kind
	// rounds is how many times each kind is measured, each round its
	// own halves in the order bare, wicket, wicket, bare (-rounds).
	rounds int
	// aa puts a second bare proxy in wicket's place (-aa): an A/A run,
	// whose ratios show the harness's own noise.
	aa bool
	// split runs the proxies in a child process, which measures itself
	// (-split); childProfile, if not empty, is where the child writes a
	// CPU profile of itself.
	split        bool
	childProfile string
}

// newConfig validates the flags, with one round of each kind (see
// withRounds). list is a comma-separated list of kind names; empty means
// all.
func newConfig(duration time.Duration, concurrency, maxRequests int, list string) (config, error) {
	cfg := config{duration: duration, concurrency: concurrency, maxRequests: maxRequests, rounds: 1}
	switch {
	case duration <= 0:
		return cfg, fmt.Errorf("-duration must be positive")
	case concurrency < 1:
		return cfg, fmt.Errorf("-concurrency must be at least 1")
	case maxRequests < 2:
		return cfg, fmt.Errorf("-max-requests must be at least 2 (one for each half)")
	}
	want := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	all := len(want) == 0
	for _, k := range kinds() {
		if all || want[k.name] {
			cfg.kinds = append(cfg.kinds, k)
			delete(want, k.name)
		}
	}
	for name := range want {
		return cfg, fmt.Errorf("-kinds: unknown kind %q (known: %s)", name, kindNames())
	}
	return cfg, nil
}

// maxRounds bounds -rounds.
const maxRounds = 100

// withRounds returns cfg measuring each kind n times (-rounds).
func (cfg config) withRounds(n int) (config, error) {
	switch {
	case n < 1 || n > maxRounds:
		return cfg, fmt.Errorf("-rounds must be from 1 to %d", maxRounds)
	case cfg.maxRequests < 2*n:
		return cfg, fmt.Errorf("-max-requests must be at least 2 a round (one for each half): %d for %d rounds", 2*n, n)
	}
	cfg.rounds = n
	return cfg, nil
}

// soakConfig is a soak run's settings (-soak): wicket alone, at
// saturation, for a long time.
type soakConfig struct {
	// duration is the soak's load, after its warm-up.
	duration time.Duration
	// concurrency is the number of clients.
	concurrency int
}

// newSoakConfig validates the soak's flags.
func newSoakConfig(duration time.Duration, concurrency int) (soakConfig, error) {
	cfg := soakConfig{duration: duration, concurrency: concurrency}
	switch {
	case duration <= 0:
		return cfg, fmt.Errorf("-soak must be positive")
	case concurrency < 1:
		return cfg, fmt.Errorf("-concurrency must be at least 1")
	}
	return cfg, nil
}
