package jsonval

import (
	"bytes"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// Contents returns the contents of the JSON string v, with escapes decoded
// (which allocates, but only when there are escapes); ok is false if v is
// not a string.
func Contents(v []byte) (s []byte, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	d, ok := jsonx.String(v)
	return []byte(d), ok
}

// IsSpace reports whether c is JSON white space.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
