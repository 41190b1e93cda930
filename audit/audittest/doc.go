// Package audittest helps test audit sinks and code that emits audit
// events.
//
// A sink author runs the conformance suite from their own tests, as
// gocloud.dev's drivertest does:
//
//	func TestConformance(t *testing.T) {
//		audittest.RunSinkTests(t, func(t *testing.T) (audit.Sink, func() []audit.Event) {
//			s := mysink.New(db)
//			return s, func() []audit.Event { return readBack(t, db) }
//		})
//	}
//
// DiffEvent compares events the way the suite does, for tests of code that
// emits them.
package audittest
