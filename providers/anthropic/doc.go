// Package anthropic is the Anthropic Messages API dialect of wicket: its
// front door, its upstream adapter, and its converters to and from the
// canonical form of package canon.
//
// # Front door
//
// [FrontDoor] serves POST /v1/messages (providers.EndpointChat) and POST
// /v1/messages/count_tokens (providers.EndpointCountTokens). [Decode]
// reads from a client's body only what routing, limits and budgets need:
// the model (with its place in the body, for rewriting), stream, and
// max_tokens, which Anthropic requires; it counts image blocks and names
// the first input whose cost the body does not bound (a PDF document,
// a file by ID, a server tool, mcp_servers, a container, fast mode, …),
// which a key with a budget may not use. The client's anthropic-beta
// header values are kept for same-dialect upstreams. The door has no
// model listing: GET /v1/models is the OpenAI door's route.
//
// A token count is passed to an upstream that speaks Anthropic, which
// answers it. For a deployment of another dialect the gateway answers
// with its own estimate of the prompt's tokens, written by
// [FrontDoor.WriteTokenCount] as Anthropic's {"input_tokens":n}; the
// answer cannot mark the count as an estimate, since the API has no field
// for that.
//
// Answers carry Anthropic's rate-limit headers
// ([FrontDoor.WriteLimitHeaders]): anthropic-ratelimit-requests-limit,
// -remaining and -reset, the same for tokens, with reset times in RFC 3339,
// and retry-after in whole seconds on refusals. They describe the
// caller's limits at the gateway; the upstream's own anthropic-ratelimit-*
// headers, which describe the operator's account, never reach clients.
//
// # Upstream adapter
//
// [Provider] ([New], [Options]) sends calls to an Anthropic upstream with
// x-api-key and anthropic-version. An Anthropic client's call passes
// through: the body is sent as the client wrote it but for the model name
// (and max_tokens, when the gateway must cap output), with the client's
// anthropic-beta values, and the answer is relayed byte for byte, event
// by event, while usage is read from message_start and message_delta (or
// a whole message's usage). A stream ends with message_stop, or with an
// error event, which is relayed; one cut before either is an error
// wrapping providers.ErrIncomplete. Usage follows metering's convention:
// InputTokens includes the cache reads and writes that Anthropic counts
// apart from input_tokens. Calls from clients of other dialects arrive in
// the canonical form ([Provider.SendCanon]).
//
// # Converters
//
// Requests ([RequestToCanon], [RequestFromCanon]), whole responses
// ([ResponseToCanon], [ResponseFromCanon]) and server-sent event streams
// ([StreamDecoder], [StreamEncoder]) convert to and from the canonical
// form; [FrontDoor.ToCanon] and [FrontDoor.NewWriter] use them for the
// door's clients.
//
// Decoding a client's request is strict: a member the canonical form
// cannot express is refused with a 400 [providers.Error] naming it as
// Anthropic spells it (messages.0.content.1.cache_control), and a member
// the converter does not know is refused with a fixed message that names
// the enclosing object at most, never text from the body. Encoding refuses
// a canonical feature Anthropic cannot express with a
// [canon.UnsupportedError]. Decoding an upstream's response or stream is
// lenient about members it has no use for.
//
// The package imports no other dialect package.
package anthropic
