// Package asyncq is the bounded asynchronous delivery queue behind
// metering.Meter and audit.Auditor: callers put items on a bounded queue
// without waiting for the backend; one worker goroutine hands them to the
// backend in batches, retrying a failed batch with capped exponential
// backoff; Close flushes what is queued and stops the worker. Every item
// given to the queue ends up counted exactly once, as delivered, failed or
// dropped.
//
// The package owns the machinery only. Defaults, error messages and logging
// belong to the packages that wrap it, which validate their options, fill in
// their documented defaults and translate ErrFull and ErrClosed into their
// own errors.
package asyncq
