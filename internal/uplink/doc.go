// Package uplink is the dialect-neutral half of the provider adapters:
// one POST to an upstream with an idle time-out on its answer (Client,
// Exchange), and the two ways an answer is relayed to a client — a plain
// body copied with a pooled buffer while its end is kept to read usage
// from (Client.Copy, Tail), and a stream of server-sent events forwarded
// event by event, flushed whenever the upstream keeps the relay waiting
// (Client.Relay with a dialect's EventHandler).
//
// What differs between dialects stays in their packages: the URL, the
// credentials and other headers, the body rewriting, how usage is read and
// which event ends a stream.
package uplink
