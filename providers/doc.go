// Package providers holds what the gateway needs to reach upstream model
// providers: the Request a front door decodes from a client call, the
// FrontDoor seam and the canonical-form seams for translation
// (Translator, CanonSender), the small Provider interface every upstream
// adapter implements, the Router that maps public model names to
// deployments, the shared upstream transport, and errors written in each
// client dialect.
//
// The Router orders each request's attempts (Ordered, RoundRobin or
// Weighted; several credentials of one upstream as weighted deployments
// make a key pool) and keeps deployments and providers that keep failing
// out of rotation for a while (CoolDown), bringing each back with one
// probe; the gateway reports every attempt's outcome to it (Available,
// Report).
//
// Dialects live in subpackages, each with its front door, its upstream
// adapter and its converters to and from the canonical form (canon):
// openai (OpenAI and every OpenAI-compatible upstream), anthropic (the
// Messages API) and gemini (generateContent); and fake is a deterministic
// local model that speaks all three, for quick starts, tests and
// benchmarks.
package providers
