// Package translate is the dialect-neutral glue between the canonical form
// (providers/canon) and the HTTP exchanges of a translated call: on the
// client's side, the providers.CanonWriter that writes canonical events
// as a stream (StreamWriter) or a whole answer (WholeWriter) in the
// client's dialect; on the upstream's side, Events, which reads an
// upstream's answer, whole or streamed, as canonical events through the
// upstream dialect's Decoder; and Request, the canonical call as a
// deployment receives it.
//
// The dialect packages supply what differs: their encoders, their
// decoders and what ends their streams.
package translate
