// Package redact holds the types that keep secrets and content out of logs,
// errors and events. It is the lowest package of the module: every other
// package may import it, and it imports none of them.
package redact
