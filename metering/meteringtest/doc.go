// Package meteringtest helps test metering backends and code that uses
// package metering.
//
// A backend author runs the conformance suite for the interface they
// implement from their own tests, as gocloud.dev's drivertest does:
//
//	func TestConformance(t *testing.T) {
//		meteringtest.RunLedgerTests(t, func(t *testing.T, cfg meteringtest.LedgerConfig) metering.Ledger {
//			return mystore.NewLedger(client, mystore.Options{TTL: cfg.TTL, Now: cfg.Now})
//		})
//	}
//
// The package also offers Recorder, an in-memory metering.Recorder that
// keeps every event, and Clock, a fake clock to inject where package
// metering takes a Now function.
package meteringtest
