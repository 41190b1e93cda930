// Package anthropic converts the Anthropic Messages API (POST /v1/messages)
// to and from the canonical form of package canon: requests
// ([RequestToCanon], [RequestFromCanon]), whole responses
// ([ResponseToCanon], [ResponseFromCanon]) and server-sent event streams
// ([StreamDecoder], [StreamEncoder]).
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
