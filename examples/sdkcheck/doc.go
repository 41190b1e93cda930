// Package sdkcheck exists to prove that a wicket gateway speaks the wire
// formats that the official Go SDKs expect: OpenAI's
// (github.com/openai/openai-go/v3), Anthropic's
// (github.com/anthropics/anthropic-sdk-go/v2) and Google's
// (google.golang.org/genai). It has no code of its own: its tests serve a
// wicket.Gateway backed by the deterministic fake model with httptest,
// point unmodified SDK clients at it with a key the gateway issued, and
// check what the SDKs decode.
//
// For OpenAI's SDK in depth: chat completions, streamed chunks through the
// SDK's ChatCompletionAccumulator, embeddings, the model list, and every
// refusal as an *openai.Error with the status, type and code the SDK's
// users branch on, rate-limit headers and the SDK's own retries included.
//
// For all three, a 3×3 matrix (TestMatrix): each client through its own
// dialect's front door to fake upstreams of every dialect (pass-through on
// the diagonal, translated elsewhere), with plain, streamed and tool-call
// calls (streamed and not, then the tool's result sent back), and errors:
// a bad key (401), an unknown model (404), a field the gateway refuses
// (400) and an upstream's 429, which each client retries once.
//
// It is a nested module so that the SDKs never enter the version selection
// of wicket's users; run its tests from this directory:
//
//	go test -race ./...
package sdkcheck
