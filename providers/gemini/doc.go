// Package gemini is the Gemini API dialect (generateContent): its front
// door, its upstream adapter, and converters to and from the canonical
// form of package canon.
//
// # Front door
//
// FrontDoor serves the routes of the Gemini API as google.golang.org/genai
// calls them with the Gemini API backend:
//
//	POST /v1beta/models/{model}:generateContent
//	POST /v1beta/models/{model}:streamGenerateContent[?alt=sse]
//	POST /v1beta/models/{model}:countTokens
//	GET  /v1beta/models
//	GET  /v1beta/models/{model}
//
// The model is in the path, never in the body. The key may come in the
// x-goog-api-key header or in ?key=; the gateway reads it and sends it
// nowhere. Decode reads the output cap (generationConfig.maxOutputTokens),
// the number of candidates and what the inputs may cost (inline images;
// file data, cached content and server-side tools, whose cost the request
// cannot bound), under the JSON and the proto spelling of each field, as
// Google's parser accepts both.
//
// # Stream forms
//
// streamGenerateContent answers in one of two forms. With ?alt=sse (the
// form the SDKs ask for) each chunk, a whole GenerateContentResponse, is
// one server-sent event, "data: <json>\r\n\r\n". Without it, Google's
// default, the chunks are the elements of one JSON array written as they
// come: "[" before the first, ",\r\n" between, "]" at the end, with
// Content-Type application/json (Request.ArrayStream). Neither form has a
// terminal sentinel: a stream is whole when every candidate it named has a
// finishReason (or the prompt was blocked, promptFeedback.blockReason, or
// a chunk carried an error object); one that ends otherwise was cut short,
// and is reported as an error wrapping providers.ErrIncomplete, the array
// left open.
//
// # Upstream adapter
//
// Provider sends calls to a Gemini API upstream. Its key goes in the
// x-goog-api-key header only, never in the URL, where proxies and logs
// would see it. A Gemini client's body goes upstream unchanged but for the
// model named in it, if any, and the output cap the gateway must enforce
// when the request set none. Streams are always asked for as server-sent
// events (alt=sse) and relayed event by event, or re-framed as the JSON
// array when the client asked for that form. Usage is read from
// usageMetadata (the last one of a stream, as Gemini repeats running
// totals): input is promptTokenCount, which includes
// cachedContentTokenCount, plus toolUsePromptTokenCount; output is
// candidatesTokenCount plus thoughtsTokenCount, which Gemini counts apart
// and bills as output.
//
// # countTokens
//
// A countTokens call is free: it is answered by a Gemini upstream, its
// body relayed as it is; when the model is served by an upstream of
// another dialect, the gateway answers itself with its token estimator's
// count (WriteTokenCount), which the answer, {"totalTokens":n}, has no
// field to mark as an estimate.
//
// # Converters
//
// RequestToCanon and RequestFromCanon convert requests, ResponseToCanon
// and ResponseFromCanon whole answers, StreamDecoder and StreamEncoder
// (NewStreamEncoder for events, NewArrayStreamEncoder for the array form)
// streamed answers.
//
// # Call IDs
//
// Gemini function calls and responses may carry no id; the canonical form
// needs one to pair a result with its call. Converters then make one up,
// deterministically, with the prefix SyntheticIDPrefix ("gemini_"):
//
//   - in a request, the functionCall at contents[i].parts[j] gets
//     "gemini_c<i>_p<j>"; a functionResponse without id takes the ID of
//     the earliest call of the same name not yet answered (by order in the
//     conversation), or, if none is pending, "gemini_c<i>_p<j>" of its own
//     position;
//   - in an answer, the functionCall that becomes canonical part k of
//     candidate c gets "gemini_<c>_<k>" (a stream merges the text parts of
//     consecutive chunks into one canonical part, so k counts canonical
//     parts, not Gemini's). These repeat from one turn to the next; they
//     are only ever paired within a turn, by position.
//
// Encoders leave out every ID that starts with the prefix, so that a
// Gemini client or upstream sees exactly the id-less calls it would have
// seen, and Gemini pairs them by name and order as it does natively. IDs
// of other dialects (OpenAI's "call_…") are written as they are.
//
// # Spelling
//
// A round trip keeps the meaning, not the spelling: function parameters
// and response schemas are written as parametersJsonSchema and
// responseJsonSchema (the canonical form holds JSON Schema; Gemini's
// OpenAPI-subset "parameters" and "responseSchema" are read as given and
// passed on as JSON Schema text), function responses go back in
// user-role contents, and empty arrays and unset options are left out.
package gemini
