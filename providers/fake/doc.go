// Package fake is a deterministic model for quick starts, tests and
// benchmarks: the same request always gets the same answer, with correct
// usage, and no network or key is needed.
//
// Handler speaks the three wire formats the gateway speaks, so it can
// stand in for an upstream of any dialect in an httptest.Server, or
// in-process through Transport. NewProvider serves the same answers
// in-process as an OpenAI-dialect providers.Provider.
//
// # Routes
//
// Routes match the end of the path, so any prefix works (/v1/messages and
// /anthropic/v1/messages alike):
//
//	OpenAI     POST .../chat/completions       chat completions, streamed or not
//	           POST .../embeddings             embeddings
//	           GET  .../models                 the model list
//	Anthropic  POST .../messages               Messages API, streamed or not
//	           POST .../messages/count_tokens  {"input_tokens": n}
//	           GET  .../models                 the model list, when the request
//	                                           carries an anthropic-version header
//	Gemini     POST .../models/{model}:generateContent
//	           POST .../models/{model}:streamGenerateContent
//	                                           with alt=sse, server-sent events
//	                                           "data: <json>\r\n\r\n"; without it,
//	                                           one JSON array of the same chunks
//	           POST .../models/{model}:countTokens  {"totalTokens": n}
//	           GET  .../models                 the model list, when the request is
//	                                           Gemini's: a v1beta or v1alpha path
//	                                           segment, an x-goog-api-key header or
//	                                           a key query parameter
//
// Any other GET .../models is OpenAI's. Each dialect answers in its own
// shapes, usage spelling, finish reasons and error bodies (OpenAI
// {"error":{…}}, Anthropic {"type":"error","error":{…},"request_id":…}
// with a request-id header on every answer, Gemini
// {"error":{"code","message","status"}}). Anthropic and Gemini answers are
// written with the anthropic and gemini packages' encoders, from the same
// canonical answer; OpenAI's are written as OpenAI writes them, with
// system_fingerprint and explicit nulls.
//
// Requests are read leniently, as the real APIs read them: members the
// fake has no use for (cache_control, metadata, safetySettings,
// temperature, n, …) are ignored. Only malformed requests are answered
// 400: a body that is not JSON of the request's shape; a missing model,
// messages or contents; Anthropic's max_tokens; a role Anthropic does not
// know; a forced tool that is not offered.
//
// # Model names
//
// Model names choose the behaviour, so applications can test their own
// failure handling, in every dialect and on every route:
//
//	fake-echo       answers as described below
//	fake-error-429  answers 429 with retry-after: 1 (OpenAI rate_limit_exceeded,
//	                Anthropic rate_limit_error, Gemini RESOURCE_EXHAUSTED)
//	fake-error-500  answers 500 (server_error, api_error, INTERNAL)
//	fake-error-503  answers 503, overloaded (server_error, overloaded_error,
//	                UNAVAILABLE)
//	fake-hang       sends nothing until the caller gives up
//
// Any other name is answered as fake-echo, and served embeddings on the
// embeddings route.
//
// # Answers
//
// The turn is the messages after the last assistant message. The model
// answers, in this order of precedence:
//
//   - Tool results: if the turn holds tool results (OpenAI tool messages,
//     Anthropic tool_result blocks, Gemini functionResponse parts), it
//     answers text, "tool <name> said: <result text>" for each result, in
//     order, separated by spaces. A Gemini response {"output": s} or
//     {"error": s} counts as the text s, any other response as its JSON.
//   - A tool call: if the turn holds a user message, the request offers
//     tools and the tool choice is not none (OpenAI "none", Anthropic
//     {"type":"none"}, Gemini mode NONE), it calls one tool, and only one:
//     the tool the choice names (OpenAI {"type":"function",…}, Anthropic
//     {"type":"tool",…}, the first of Gemini's allowedFunctionNames with
//     mode ANY; a name that is not offered is answered 400), else the first
//     tool offered. The arguments are a JSON object built from the tool's
//     parameters schema: the properties that "required" lists, in its
//     order, or if it lists none the first property of "properties"; each
//     property's value is its "const", else the first of its "enum", else by
//     its type: a string gets the last user message's text, an integer or
//     number 1, a boolean true, an array [], an object {}, anything else
//     null. Anthropic tools without an input_schema (its server tools) are
//     not offered to the fake.
//   - Otherwise it echoes the text of the last user message ("…" if it is
//     empty or there is none).
//
// A text answer is cut into words at white space; Options.Chunks pads or
// cuts it to that many words, then the request's output cap (OpenAI
// max_completion_tokens or max_tokens, Anthropic max_tokens, Gemini
// maxOutputTokens) cuts it. It finishes as stop (end_turn, STOP), even when
// cut. A tool call finishes as tool_calls (tool_use; Gemini says STOP).
//
// Streams send a text answer one word a chunk (" word" after the first);
// a tool call's arguments come in two deltas where the dialect streams
// arguments (OpenAI, Anthropic) and whole in one chunk for Gemini, which
// has no argument deltas. Options.ChunkDelay paces each of those chunks.
//
// # Usage
//
// The counts are the same in every dialect for the same conversation:
//
//   - input tokens are PromptTokens of the bytes of the conversation's
//     text: every text part (system instructions included), tool call
//     arguments (compact JSON) and tool result texts; images, names and
//     tool definitions count nothing. count_tokens and countTokens answer
//     the same number;
//   - output tokens are the answer's words, or for a tool call
//     PromptTokens of its arguments' bytes.
//
// No tokens are cached: Anthropic's cache counters and Gemini's
// cachedContentTokenCount are 0 or absent.
package fake
