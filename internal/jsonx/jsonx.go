// Package jsonx picks members out of a JSON object without decoding it:
// the gateway reads a few routing fields from request bodies, rewrites one
// value in place, and reads usage from response tails, while the rest of
// the bytes pass through untouched.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// ErrSyntax is returned for input that is not a JSON object.
var ErrSyntax = errors.New("jsonx: not a JSON object")

// Member is one member of an object: its key (undecoded; see KeyIs) and
// the raw bytes of its value at data[Start:End].
type Member struct {
	Key        []byte
	Value      []byte
	Start, End int
}

// KeyIs reports whether the member's key equals name, decoding escapes if
// the raw key has any.
func (m Member) KeyIs(name string) bool {
	if bytes.IndexByte(m.Key, '\\') < 0 {
		return string(m.Key) == name
	}
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, m.Key...), '"'), &s); err != nil {
		return false
	}
	return s == name
}

// Each calls fn for every member of the object in data, in order, until fn
// returns false. It checks the object's structure as it goes and returns
// ErrSyntax for anything that is not one JSON object (with only white space
// around it); callers that need full validation of the values run
// json.Valid first. It does not allocate.
func Each(data []byte, fn func(Member) bool) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return ErrSyntax
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		if skipSpace(data, i+1) != len(data) {
			return ErrSyntax
		}
		return nil
	}
	stopped := false
	for {
		if i >= len(data) || data[i] != '"' {
			return ErrSyntax
		}
		kend, ok := skipString(data, i)
		if !ok {
			return ErrSyntax
		}
		key := data[i+1 : kend-1]
		i = skipSpace(data, kend)
		if i >= len(data) || data[i] != ':' {
			return ErrSyntax
		}
		vstart := skipSpace(data, i+1)
		vend, ok := skipValue(data, vstart)
		if !ok {
			return ErrSyntax
		}
		if !stopped && !fn(Member{Key: key, Value: data[vstart:vend], Start: vstart, End: vend}) {
			stopped = true
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return ErrSyntax
		}
		if data[i] == '}' {
			if skipSpace(data, i+1) != len(data) {
				return ErrSyntax
			}
			return nil
		}
		if data[i] != ',' {
			return ErrSyntax
		}
		i = skipSpace(data, i+1)
	}
}

// Get returns the value of the first member named name, or ok=false.
func Get(data []byte, name string) (value []byte, start, end int, ok bool) {
	_ = Each(data, func(m Member) bool {
		if m.KeyIs(name) {
			value, start, end, ok = m.Value, m.Start, m.End, true
			return false
		}
		return true
	})
	return value, start, end, ok
}

// Int parses a JSON number value as an int64. Fractions and exponents are
// refused, as are values outside int64.
func Int(v []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// Bool parses a JSON true or false.
func Bool(v []byte) (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// String decodes a JSON string value.
func String(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// ValueAt returns the end of the JSON value that starts at data[i] (after
// any white space), so data[start:end] is the value, or ok=false.
func ValueAt(data []byte, i int) (start, end int, ok bool) {
	start = skipSpace(data, i)
	end, ok = skipValue(data, start)
	return start, end, ok
}

// IsNull reports whether v is the JSON null literal.
func IsNull(v []byte) bool { return string(v) == "null" }

// Replace returns a new slice holding data with data[start:end] replaced by
// repl.
func Replace(data []byte, start, end int, repl []byte) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(repl))
	out = append(out, data[:start]...)
	out = append(out, repl...)
	return append(out, data[end:]...)
}

// AppendMember returns a new slice holding the object in data with the
// member "name": value added before its closing brace. value must be valid
// JSON; data must be an object (as checked by Each).
func AppendMember(data []byte, name string, value []byte) []byte {
	end := bytes.LastIndexByte(data, '}')
	if end < 0 {
		return data
	}
	empty := true
	for _, c := range data[bytes.IndexByte(data, '{')+1 : end] {
		if !isSpace(c) {
			empty = false
			break
		}
	}
	q, _ := json.Marshal(name)
	out := make([]byte, 0, len(data)+len(q)+len(value)+2)
	out = append(out, data[:end]...)
	if !empty {
		out = append(out, ',')
	}
	out = append(out, q...)
	out = append(out, ':')
	out = append(out, value...)
	return append(out, data[end:]...)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at data[i] == '"'.
func skipString(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		default:
			if data[j] < 0x20 {
				return 0, false
			}
		}
	}
	return 0, false
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{' || c == '[':
		return skipNested(data, i)
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(data) && (data[j] >= '0' && data[j] <= '9' || data[j] == '.' || data[j] == 'e' || data[j] == 'E' || data[j] == '+' || data[j] == '-') {
			j++
		}
		return j, true
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(data[i:], []byte(lit)) {
				return i + len(lit), true
			}
		}
		return 0, false
	}
}

// skipNested skips an object or array by matching brackets outside strings.
// It checks nesting, not the grammar inside; json.Valid does that.
func skipNested(data []byte, i int) (int, bool) {
	var stack [64]byte
	depth := 0
	for j := i; j < len(data); j++ {
		switch c := data[j]; c {
		case '"':
			end, ok := skipString(data, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '{', '[':
			if depth == len(stack) {
				return 0, false // deeper than any request we route needs
			}
			stack[depth] = c
			depth++
		case '}', ']':
			if depth == 0 || (c == '}') != (stack[depth-1] == '{') {
				return 0, false
			}
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}
