// Package otelwicket turns a wicket gateway's requests into OpenTelemetry
// traces and metrics, named and attributed per the OpenTelemetry semantic
// conventions for generative AI, with wicket's own identifiers beside
// them. It depends on the OpenTelemetry API only: the application brings
// its SDK and exporters (or none, and everything is a no-op).
//
// One call mounts it: Instrument adds its hooks to a wicket.Config, beside
// any the application set, and returns the Telemetry whose Handler wraps
// the gateway:
//
//	tel, err := otelwicket.Instrument(&cfg, &otelwicket.Options{TracerProvider: tp, MeterProvider: mp})
//	gw, err := wicket.New(cfg)
//	http.Handle("/", tel.Handler(gw))
//
// To count the router's cool-downs too, make the router after Instrument
// with RouterOptions.OnCoolDown set to tel.OnCoolDown.
//
// Each request gets a server span that continues the caller's W3C trace
// context, and each upstream attempt a client span under it, whose context
// goes upstream in the attempt's request headers. The metrics are the
// conventions' gen_ai.client.token.usage, gen_ai.client.operation.duration
// (per upstream attempt), gen_ai.server.request.duration and
// gen_ai.server.time_to_first_token; and wicket's own: requests by
// outcome (rate-limit and budget refusals among them), upstream attempts
// by reason (fallbacks, retries, probes) and outcome, cost, failed
// authentications, throttled addresses, cool-downs, and the metering
// queue's depth and drops.
//
// Nothing a client or upstream wrote is ever recorded: no prompt, no
// completion, no key, no credential, no URL query. The conventions'
// content attributes (gen_ai.input.messages, gen_ai.output.messages,
// gen_ai.system_instructions, tool arguments and results) are never set.
// Attributes carry identifiers and counts only: models, key IDs, owners,
// token counts, costs, statuses and error classes.
package otelwicket
