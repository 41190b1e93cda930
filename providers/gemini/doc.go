// Package gemini converts the Gemini generateContent dialect to and from
// the canonical form of package canon: requests (RequestToCanon,
// RequestFromCanon), whole answers (ResponseToCanon, ResponseFromCanon)
// and streamed answers (StreamDecoder, StreamEncoder, for the alt=sse form
// of streamGenerateContent).
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
