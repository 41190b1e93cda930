// Package otelwicket turns a wicket gateway's requests into OpenTelemetry
// traces and metrics, named and attributed per the OpenTelemetry semantic
// conventions for generative AI, with wicket's own identifiers beside
// them. It depends on the OpenTelemetry API only: the application brings
// its SDK and exporters (or none, and everything is a no-op).
//
// One call mounts it: Instrument adds its hooks to a wicket.Config, beside
// any the application set, and returns the middleware to wrap the gateway
// in:
//
//	wrap, err := otelwicket.Instrument(&cfg, &otelwicket.Options{TracerProvider: tp, MeterProvider: mp})
//	gw, err := wicket.New(cfg)
//	http.Handle("/", wrap(gw))
//
// Each request gets a server span that continues the caller's W3C trace
// context, and each upstream attempt a client span under it, whose context
// goes upstream in the attempt's request headers. The metrics are the
// conventions' gen_ai.client.token.usage, gen_ai.client.operation.duration
// (per upstream attempt), gen_ai.server.request.duration and
// gen_ai.server.time_to_first_token, and wicket's request and attempt
// counters.
//
// Nothing a client or upstream wrote is ever recorded: no prompt, no
// completion, no key, no credential, no URL query. The conventions'
// content attributes (gen_ai.input.messages, gen_ai.output.messages,
// gen_ai.system_instructions, tool arguments and results) are never set.
// Attributes carry identifiers and counts only: models, key IDs, owners,
// token counts, costs, statuses and error classes.
package otelwicket
