package gemini

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers"
)

// path names a field of a request, as the Gemini API spells it. It is
// built only from the names this package knows and from indexes, never
// from body text, so that it may appear in errors.
type path string

func (p path) dot(name string) path {
	if p == "" {
		return path(name)
	}
	return path(string(p) + "." + name)
}

func (p path) index(i int) path { return path(string(p) + "[" + strconv.Itoa(i) + "]") }

// Errors for RequestToCanon. Messages name the field through its path
// only.

func errInvalidJSON() *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_json",
		Message: "Invalid JSON payload received. The body must be a JSON object."}
}

func errUnknown(p path) *providers.Error {
	msg := "Invalid JSON payload received. Unknown name in the request."
	if p != "" {
		msg = "Invalid JSON payload received. Unknown name in '" + string(p) + "'."
	}
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unknown_parameter", Param: string(p), Message: msg}
}

func errUnsupported(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_parameter", Param: string(p),
		Message: "The field '" + string(p) + "' is not supported by the provider serving this model."}
}

func errUnsupportedValue(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unsupported_value", Param: string(p),
		Message: "The value of '" + string(p) + "' is not supported by the provider serving this model."}
}

func errType(p path, want string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_type", Param: string(p),
		Message: "Invalid value at '" + string(p) + "': expected " + want + "."}
}

func errValue(p path, detail string) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_value", Param: string(p),
		Message: "Invalid value at '" + string(p) + "': " + detail}
}

func errMissing(p path) *providers.Error {
	return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "missing_required_parameter", Param: string(p),
		Message: "Missing required field: '" + string(p) + "'."}
}

// object holds the members of a JSON object by name; a null member is
// left out, as if missing.
type object map[string][]byte

// members reads the object v at p, whose member names must be among names
// (exactly, case-sensitively: encoding/json would let "Text" stand for
// "text"). Any other member, and a key written with escapes, is refused
// as unknown with p naming the object. The last of duplicate members wins.
func members(v []byte, p path, names ...string) (object, *providers.Error) {
	o := object{}
	var perr *providers.Error
	err := jsonx.Each(v, func(m jsonx.Member) bool {
		if bytes.IndexByte(m.Key, '\\') < 0 {
			for _, n := range names {
				if string(m.Key) == n {
					if jsonx.IsNull(m.Value) {
						delete(o, n)
					} else {
						o[n] = m.Value
					}
					return true
				}
			}
		}
		perr = errUnknown(p)
		return false
	})
	if err != nil {
		if p == "" {
			return nil, errInvalidJSON()
		}
		return nil, errType(p, "an object")
	}
	return o, perr
}

func (o object) has(name string) bool { _, ok := o[name]; return ok }

func (o object) str(name string, p path) (string, *providers.Error) {
	var s string
	if err := json.Unmarshal(o[name], &s); err != nil {
		return "", errType(p.dot(name), "a string")
	}
	return s, nil
}

// name reads a required, non-empty name member.
func (o object) name(p path) (string, *providers.Error) {
	if !o.has("name") {
		return "", errMissing(p.dot("name"))
	}
	s, perr := o.str("name", p)
	if perr == nil && s == "" {
		perr = errValue(p.dot("name"), "it must not be empty.")
	}
	return s, perr
}

func (o object) optFloat(name string, p path) (*float64, *providers.Error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return nil, errType(p.dot(name), "a number")
	}
	return &f, nil
}

func (o object) optInt(name string, p path) (*int64, *providers.Error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	// Integers may come as JSON numbers with an exponent or a zero
	// fraction (2.0); anything else is refused.
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil, errType(p.dot(name), "an integer")
	}
	n := int64(f)
	return &n, nil
}

func (o object) optBool(name string, p path) (*bool, *providers.Error) {
	v, ok := o[name]
	if !ok {
		return nil, nil
	}
	b, ok := jsonx.Bool(v)
	if !ok {
		return nil, errType(p.dot(name), "a boolean")
	}
	return &b, nil
}

// elements returns the elements of the array v at p.
func elements(v []byte, p path) ([]json.RawMessage, *providers.Error) {
	var a []json.RawMessage
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, errType(p, "an array")
	}
	return a, nil
}

// isObject reports whether v is a JSON object (v being valid JSON).
func isObject(v []byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{'
}

// compact returns v without insignificant space, or nil if v is not
// valid JSON.
func compact(v []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return nil
	}
	return b.Bytes()
}

// marshal encodes v without escaping <, > and &, as Google's encoders do.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
