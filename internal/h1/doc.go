// Package h1 is an HTTP/1.1 client transport for upstream API calls: an
// http.RoundTripper that writes the request and reads the answer on the
// caller's goroutine, instead of handing each call to two goroutines per
// connection as net/http's Transport does.
//
// A gateway's upstream call is one request at a time per connection, so
// those hand-offs (two goroutine switches, channel sends and the
// allocations that carry them) are pure cost: on loopback they are a
// quarter of a proxy's CPU per request. Transport keeps what an API call
// needs of net/http's — keep-alive pools per host with an idle time-out,
// TLS with a handshake time-out, a response-header time-out, cancellation
// through the request's context at any point, and the framing rules of
// RFC 9112 (Content-Length, chunked, close-delimited, 1xx answers) — and
// leaves out what it does not: HTTP/2, proxies, redirects, cookies,
// compression and Expect: 100-continue.
//
// Nothing the package returns or reports carries a URL, a header value or
// body text.
package h1
