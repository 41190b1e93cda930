// Package jsonx picks members out of a JSON object without decoding it:
// the gateway reads a few routing fields from request bodies, rewrites one
// value in place, and reads usage from response tails, while the rest of
// the bytes pass through untouched.
package jsonx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
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
// It refuses control characters and an unterminated string; a backslash
// skips the byte after it, and the escape itself is left to Valid.
func skipString(data []byte, i int) (int, bool) {
	j := i + 1
	for {
		j = nextStringSpecial(data, j)
		if j == len(data) {
			return 0, false
		}
		switch data[j] {
		case '"':
			return j + 1, true
		case '\\':
			j += 2
		default:
			return 0, false
		}
	}
}

// nextStringSpecial returns the index of the first quote, backslash or
// control character in data[j:], or len(data) if there is none. Prompts
// make strings most of a body, so it looks at eight bytes at a time.
func nextStringSpecial(data []byte, j int) int {
	for j+8 <= len(data) {
		if m := stringSpecial(binary.LittleEndian.Uint64(data[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
		j += 8
	}
	for ; j < len(data); j++ {
		if c := data[j]; c == '"' || c == '\\' || c < 0x20 {
			return j
		}
	}
	return len(data)
}

// Word-at-a-time tests, after "Bit Twiddling Hacks": for a byte x below
// 0x80, x-n sets the top bit if x < n or if a borrow came in from the byte
// below, and a borrow goes out only if x < n. Each test returns a mask
// with the top bit set for every byte of w (read little-endian) that is
// one of the bytes sought; bytes above the first may be marked falsely by
// a borrow, so callers use only the lowest, whose index is
// bits.TrailingZeros64 / 8. No xor or or below touches a top bit, so
// &^ w drops bytes from 0x80 up, which are never sought.
const (
	ones = 0x0101010101010101
	tops = 0x8080808080808080
)

// stringSpecial marks '"', '\\' and control characters (below 0x20).
func stringSpecial(w uint64) uint64 {
	q := w ^ (ones * 0x02) // '"' becomes 0x20; control characters stay below it
	b := w ^ (ones * '\\')
	return ((q - ones*0x21) | (b - ones)) &^ w & tops
}

// structural marks '"', '{', '}', '[' and ']'.
func structural(w uint64) uint64 {
	q := w ^ (ones * '"')
	l := w | (ones * 0x20) // only '[' and '{' become '{', only ']' and '}' become '}'
	o := l ^ (ones * '{')
	c := l ^ (ones * '}')
	return ((q - ones) | (o - ones) | (c - ones)) &^ w & tops
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
// It checks nesting, not the grammar inside; json.Valid does that. It
// looks at eight bytes at a time for the next bracket or quote.
func skipNested(data []byte, i int) (int, bool) {
	const maxDepth = 64 // deeper than any request we route needs
	var objects uint64  // bit d: the bracket open at depth d is '{'
	depth := 0
	j := i
	for {
		for j+8 <= len(data) {
			if m := structural(binary.LittleEndian.Uint64(data[j:])); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				goto found
			}
			j += 8
		}
		for ; j < len(data); j++ {
			if c := data[j]; c == '"' || c == '{' || c == '}' || c == '[' || c == ']' {
				goto found
			}
		}
		return 0, false
	found:
		switch c := data[j]; c {
		case '"':
			end, ok := skipString(data, j)
			if !ok {
				return 0, false
			}
			j = end
			continue
		case '{', '[':
			if depth == maxDepth {
				return 0, false
			}
			objects &^= 1 << depth
			if c == '{' {
				objects |= 1 << depth
			}
			depth++
		default: // '}', ']'
			if depth == 0 || (c == '}') != (objects&(1<<(depth-1)) != 0) {
				return 0, false
			}
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
		j++
	}
}
