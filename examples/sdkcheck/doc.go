// Package sdkcheck exists to prove that a wicket gateway speaks the wire
// format that the official OpenAI Go SDK (github.com/openai/openai-go/v3)
// expects. It has no code of its own: its tests serve a wicket.Gateway
// backed by the deterministic fake model with httptest, point an unmodified
// SDK client at it (option.WithBaseURL, option.WithAPIKey with a key the
// gateway issued), and check what the SDK decodes: chat completions,
// streamed chunks through the SDK's ChatCompletionAccumulator, embeddings,
// the model list, and every refusal as an *openai.Error with the status,
// type and code the SDK's users branch on, rate-limit headers and the SDK's
// own retries included.
//
// It is a nested module so that the SDK never enters the version selection
// of wicket's users; run its tests from this directory:
//
//	go test -race ./...
package sdkcheck
