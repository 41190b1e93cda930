// Package fake is a deterministic model for quick starts, tests and
// benchmarks: the same request always gets the same answer, with correct
// usage, and no network or key is needed.
//
// Handler speaks the OpenAI wire format over HTTP (chat completions,
// streamed or not, embeddings and the model list), so it can stand in for
// an upstream in an httptest.Server. NewProvider serves the same answers
// in-process, as a providers.Provider.
//
// Model names choose the behaviour, so applications can test their own
// failure handling:
//
//	fake-echo       answers with the text of the last user message
//	fake-error-429  answers 429 rate_limit_exceeded, with retry-after: 1
//	fake-error-500  answers 500 server_error
//	fake-error-503  answers 503 (overloaded)
//	fake-hang       sends nothing until the caller gives up
//
// Any other name containing "embed" serves embeddings; any other name is
// answered as fake-echo.
package fake
