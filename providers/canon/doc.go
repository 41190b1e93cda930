// Package canon is the canonical form of a model call: the request, the
// response and the stream events that every dialect package (openai,
// anthropic, gemini) converts to and from, so that N dialects need N
// converters rather than N×N. It holds plain data and small pure helpers:
// no I/O, no JSON, no knowledge of any wire format.
//
// # What the form can express
//
// The form holds what OpenAI Chat Completions, Anthropic Messages and
// Gemini generateContent share, and a few features that two of them share
// (top-k, penalties, reasoning budgets, signatures). A decoder refuses a
// client feature the form cannot express, with a 400 naming the field in
// the client's spelling; an encoder refuses a canonical feature its own
// dialect cannot express with an [UnsupportedError], which names the
// feature canonically so that the client's front door can name it in the
// client's spelling. Nothing is dropped silently; the few deliberate
// omissions (such as thinking parts, which the OpenAI chat format has no
// place for) are documented on the encoder that makes them.
//
// Optional values are pointers or have an explicit unset state: "not given"
// and "zero" differ on the wire (temperature 0 is a choice; no temperature
// is the model's default).
//
// # Messages and parts
//
// A [Request] is a list of [Message] values, each a [Role] and ordered
// [Part] values. System instructions are messages too ([RoleSystem] and
// OpenAI's newer spelling, [RoleDeveloper]) rather than a separate field:
// OpenAI allows them anywhere in the conversation and spells them two ways,
// and keeping them in place lets the OpenAI round trip be exact. Dialects
// with a single system field take the leading ones ([Request.SplitSystem])
// and refuse any later one. Tool results are parts of [RoleTool] messages,
// one result or several; Anthropic puts them in user messages and Gemini in
// function-role contents, and their encoders merge adjacent tool messages as
// their formats require.
//
// A Part is one struct with a [PartKind] and the fields of every kind
// (grouped in value sub-structs such as [ToolCall]) rather than an
// interface: converters switch on Kind, go-cmp diffs stay readable, and no
// part allocates beyond its strings.
//
// Binary data stays base64 text ([Image.Data]): all three dialects carry
// inline images as base64, so no converter decodes megabytes only to
// encode them again. Tool arguments, tool parameters and response schemas
// stay raw JSON text ([json.RawMessage]).
//
// # Streams
//
// A stream is a sequence of [Event] values: one [EventStart], then for each
// part of each choice an [EventPartStart], any number of [EventPartDelta]
// and an [EventPartStop]; an [EventFinish] per choice; [EventUsage]
// (possibly more than once: the last one counts); and [EventError] if the
// upstream failed mid-stream. A part is addressed by its choice and its
// index within the choice, both stable for the whole stream, so parallel
// tool calls whose argument deltas interleave stay apart in every
// direction. A non-streamed [Response] is the same parts, whole;
// [Accumulator] folds events into one and [Response.Events] replays one as
// events.
//
// Event is a single small struct rather than a sealed interface of event
// types: an event passes by value through a callback without allocating
// (an interface value would box every event), and an encoder is one switch
// on [Event.Kind]. Delta text ([Event.Text]) may alias the decoder's input,
// as sse.Event does, so that a stream is translated without copying each
// fragment; it is valid only until the callback returns ([Event.Clone]
// makes a copy that stays valid).
//
// Usage is a [metering.Usage] everywhere, in the units the gateway meters.
package canon
