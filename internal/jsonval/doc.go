// Package jsonval reads single JSON values in place, without decoding
// them: the contents of a string, the elements of an array, the value
// after a key found by a text search. It complements jsonx, which picks
// members out of objects; the dialect decoders share both. The input is
// expected to be valid JSON (it has passed json.Valid, or is a part of
// such a text); on anything else the functions report nothing rather than
// fail.
package jsonval
