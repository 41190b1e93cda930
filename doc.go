// Package wicket turns a Go service into an AI API gateway inside its own
// process. The service issues API keys to its users (package keys) and
// mounts one http.Handler; clients then call OpenAI-, Anthropic- or
// Gemini-style endpoints with those keys, and wicket authenticates them,
// applies rate limits and budgets, routes to upstream providers
// (translating dialects, streaming included), and meters usage.
//
// No prompt or completion is ever stored or logged: the types that leave a
// request (metering and audit events) have no field that could hold
// content, and errors and logs carry identifiers only.
//
// Storage stays the application's own: every store is a small interface
// with an in-memory default, a conformance suite for backend authors, and a
// Redis module for fleets of replicas.
package wicket
