// Package providers holds what the gateway needs to reach upstream model
// providers: the Request a front door decodes from a client call, the
// small Provider interface every upstream adapter implements, the Router
// that maps public model names to deployments, the shared upstream
// transport, and errors written in each client dialect.
//
// Adapters live in subpackages: openai (OpenAI and every OpenAI-compatible
// upstream), and fake (a deterministic local model for quick starts, tests
// and benchmarks).
package providers
