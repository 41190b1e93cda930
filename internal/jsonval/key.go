package jsonval

import (
	"bytes"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// AfterKey returns the span data[start:end] of the value that follows key,
// a quoted member name such as `"usage"` found at data[i] by a text
// search, if a colon follows it. Inside JSON strings quotes are escaped,
// so an occurrence of a quoted name followed by a colon can only be a key;
// this is how usage is found in the tail of a body too long to keep whole.
func AfterKey(data []byte, i int, key string) (start, end int, ok bool) {
	rest := bytes.TrimLeft(data[i+len(key):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return 0, 0, false
	}
	return jsonx.ValueAt(data, len(data)-len(rest)+1)
}
