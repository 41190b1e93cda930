// Package openai is the adapter for OpenAI and every upstream that speaks
// its wire format: Azure OpenAI, vLLM, Ollama, Groq, Mistral, Together and
// the like. One Provider holds one upstream's base URL, credential and
// headers; deployments pair it with model names.
//
// Calls from OpenAI-dialect clients take the pass-through path: the body
// goes upstream as the client sent it but for the model name (rewritten
// when the public name is an alias) and, for streamed chat completions,
// stream_options.include_usage (added so usage can be metered; the extra
// usage-only chunk is withheld from clients that did not ask for it). The
// answer streams back byte for byte, each event reaching the client as
// soon as it arrived (those that arrived together in one write), while
// usage is read from the final chunk or the body's tail. A stream
// that ends without its terminal event ("data: [DONE]" for chat
// completions; response.completed, response.incomplete, response.failed or
// error for the Responses API) makes Relay fail, so that the gateway aborts
// the answer rather than let a client take a truncated one for a whole one.
package openai
