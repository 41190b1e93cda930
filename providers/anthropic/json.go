package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
)

// object is a JSON object's members by exact, case-sensitive name, each
// name one of the known names the decoder passed (never body text).
type object []member

type member struct {
	name  string
	value json.RawMessage
}

// get returns the value of the member name, or nil; the last of
// duplicates wins, as encoding/json decides them.
func (o object) get(name string) json.RawMessage {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].name == name {
			return o[i].value
		}
	}
	return nil
}

// memberType returns the raw value of v's member "type" (nil if none), and
// whether v is an object.
func memberType(v json.RawMessage) (typ json.RawMessage, ok bool) {
	ok = jsonx.Each(v, func(m jsonx.Member) bool {
		if m.KeyIs("type") {
			typ = m.Value
		}
		return true
	}) == nil
	return typ, ok
}

// path names a member of the request as Anthropic spells it in errors:
// dotted names and indexes ("messages.0.content.1.type"). It is built from
// known names and indexes only, never from body text.
type path string

func (p path) dot(name string) path {
	if p == "" {
		return path(name)
	}
	return p + "." + path(name)
}

func (p path) index(i int) path { return p + "." + path(strconv.Itoa(i)) }

func isNull(v json.RawMessage) bool { return v == nil || string(v) == "null" }

// has reports whether o holds name with a value other than null.
func (o object) has(name string) bool { return !isNull(o.get(name)) }

// decodeObject decodes v as an object whose members are all in known;
// any other member is refused as unknown, naming p only.
func decodeObject(v json.RawMessage, p path, known ...string) (object, *providers.Error) {
	o := make(object, 0, 4)
	unknown := false
	err := jsonx.Each(v, func(m jsonx.Member) bool {
		for _, n := range known {
			if m.KeyIs(n) {
				o = append(o, member{n, m.Value})
				return true
			}
		}
		unknown = true
		return false
	})
	if err != nil {
		return nil, errType(p, "an object")
	}
	if unknown {
		return nil, errUnknown(p)
	}
	return o, nil
}

// decodeArray splits the array v into its elements. The body was
// validated as a whole, so only the structure is checked here.
func decodeArray(v json.RawMessage, p path) ([]json.RawMessage, *providers.Error) {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, errType(p, "an array")
	}
	inner := bytes.TrimSpace(v[1 : len(v)-1])
	if len(inner) == 0 {
		return []json.RawMessage{}, nil
	}
	var a []json.RawMessage
	for i := 0; ; {
		start, end, ok := jsonx.ValueAt(inner, i)
		if !ok {
			return nil, errType(p, "an array")
		}
		a = append(a, inner[start:end])
		i = end
		for i < len(inner) && (inner[i] == ' ' || inner[i] == '\t' || inner[i] == '\n' || inner[i] == '\r') {
			i++
		}
		if i == len(inner) {
			return a, nil
		}
		if inner[i] != ',' {
			return nil, errType(p, "an array")
		}
		i++
	}
}

func decodeString(v json.RawMessage, p path) (string, *providers.Error) {
	s, ok := unquote(bytes.TrimSpace(v))
	if !ok {
		return "", errType(p, "a string")
	}
	return string(s), nil
}

func decodeBool(v json.RawMessage, p path) (bool, *providers.Error) {
	switch string(bytes.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errType(p, "a boolean")
}

func decodeFloat(v json.RawMessage, p path) (*float64, *providers.Error) {
	var f float64
	if json.Unmarshal(v, &f) != nil {
		return nil, errType(p, "a number")
	}
	return &f, nil
}

func decodeInt(v json.RawMessage, p path) (*int64, *providers.Error) {
	var n int64
	if json.Unmarshal(v, &n) != nil {
		return nil, errType(p, "an integer")
	}
	return &n, nil
}

// Errors for RequestToCanon, in Anthropic's error shape (type
// invalid_request_error). Messages name paths built from known names only.

func errInvalidJSON() *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_json",
		Message: "The request body is not valid JSON. It must be a JSON object."}
}

func errUnknown(p path) *providers.Error {
	msg := "The request has a field that this gateway does not recognize."
	if p != "" {
		msg = "The request has a field in " + string(p) + " that this gateway does not recognize."
	}
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unknown_parameter",
		Param: string(p), Message: msg}
}

func errUnsupported(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_parameter",
		Param: string(p), Message: string(p) + ": this field is not supported by the provider serving this model."}
}

func errUnsupportedValue(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_value",
		Param: string(p), Message: string(p) + ": this value is not supported by the provider serving this model."}
}

func errType(p path, want string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_type",
		Param: string(p), Message: string(p) + ": expected " + want + "."}
}

func errValue(p path, detail string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_value",
		Param: string(p), Message: string(p) + ": " + detail}
}

func errMissing(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "missing_required_parameter",
		Param: string(p), Message: string(p) + ": field required."}
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return appendJSONString(b, s) }

// appendFloat appends f as a JSON number; NaN and infinities fail.
func appendFloat(b []byte, f float64) ([]byte, error) {
	q, err := json.Marshal(f)
	if err != nil {
		return b, err
	}
	return append(b, q...), nil
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// isObject reports whether v is valid JSON and an object.
func isObject(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{' && jsonx.Valid(v)
}

// appendCompact appends the valid JSON v without insignificant space.
func appendCompact(b []byte, v []byte) []byte {
	buf := bytes.NewBuffer(b)
	_ = json.Compact(buf, v) // v is valid
	return buf.Bytes()
}

// appendJSONString appends s as a JSON string without allocating for the
// common case; invalid UTF-8 becomes U+FFFD, as encoding/json writes it.
func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		var r rune
		var n int
		switch v := any(s).(type) {
		case string:
			r, n = utf8.DecodeRuneInString(v[i:])
		case []byte:
			r, n = utf8.DecodeRune(v[i:])
		default:
			r, n = utf8.DecodeRuneInString(string(s[i:]))
		}
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
