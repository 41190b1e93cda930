package fake

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// arguments returns the JSON object the fake calls a tool with, built from
// the tool's parameters schema: the properties that "required" lists, in
// its order (or, if it lists none, the first property of "properties"),
// each set from its own schema (see value). A schema that is not an object
// of that form gives {}.
func arguments(schema json.RawMessage, text string) json.RawMessage {
	var props []jsonx.Member
	var required []string
	_ = jsonx.Each(schema, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("properties"):
			props = props[:0]
			if jsonx.Each(m.Value, func(p jsonx.Member) bool {
				props = append(props, p)
				return true
			}) != nil {
				props = nil
			}
		case m.KeyIs("required"):
			required = required[:0]
			var names []string
			if json.Unmarshal(m.Value, &names) == nil {
				required = names
			}
		}
		return true
	})
	var names []string
	for _, n := range required {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 && len(props) > 0 {
		if n, ok := jsonx.String(append(append([]byte{'"'}, props[0].Key...), '"')); ok {
			names = append(names, n)
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(&b, n)
		b.WriteByte(':')
		var ps []byte
		for _, p := range props {
			if p.KeyIs(n) {
				ps = p.Value
				break
			}
		}
		b.Write(value(ps, text))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// value returns a property's value from its schema: its "const", else the
// first of its "enum", else by its "type" (the first that is not "null",
// if it lists several; Gemini spells types in capitals): text for a
// string, 1 for an integer or number, true for a boolean, [] for an array,
// {} for an object, null for anything else.
func value(schema []byte, text string) []byte {
	var s struct {
		Const json.RawMessage   `json:"const"`
		Enum  []json.RawMessage `json:"enum"`
		Type  json.RawMessage   `json:"type"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return []byte("null")
	}
	if len(s.Const) > 0 && json.Valid(s.Const) {
		return compact(s.Const)
	}
	if len(s.Enum) > 0 && json.Valid(s.Enum[0]) {
		return compact(s.Enum[0])
	}
	var types []string
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		types = []string{one}
	} else {
		_ = json.Unmarshal(s.Type, &types)
	}
	for _, t := range types {
		switch strings.ToLower(t) {
		case "null":
			continue
		case "string":
			var b bytes.Buffer
			writeJSON(&b, text)
			return b.Bytes()
		case "integer", "number":
			return []byte("1")
		case "boolean":
			return []byte("true")
		case "array":
			return []byte("[]")
		case "object":
			return []byte("{}")
		}
		return []byte("null") // a type it does not know
	}
	return []byte("null")
}

// writeJSON writes s as a JSON string, without escaping HTML characters
// (as the APIs write arguments).
func writeJSON(b *bytes.Buffer, s string) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)         // a string cannot fail
	b.Truncate(b.Len() - 1) // Encode's newline
}

// compact returns v without insignificant white space.
func compact(v []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return []byte("null")
	}
	return b.Bytes()
}
