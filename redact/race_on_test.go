//go:build race

package redact_test

// raceEnabled is true under -race, where sync.Pool drops items at random
// and allocation counts mean little.
const raceEnabled = true
