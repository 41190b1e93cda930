package jsonx

import (
	"bytes"
	"unicode/utf8"
)

// AppendStrings appends to dst the string values of the members named name
// anywhere in data, outer and nested alike, in the order they appear: at
// most limit values in all, and none longer than maxLen bytes or holding
// an escape or bytes that are not UTF-8 (those are skipped). data need not be a whole document: it may
// be a fragment, such as the end of a body, even one that starts inside a
// string.
//
// It finds members by their raw bytes, "name" then a colon, without
// parsing: in JSON a quote inside a string is always escaped, so those
// bytes cannot occur inside a string's content. name must not need
// escaping itself.
func AppendStrings(dst []string, data []byte, name string, limit, maxLen int) []string {
	var pat [64]byte
	if len(name)+2 > len(pat) {
		return dst
	}
	// The search starts at the name, not at its opening quote: quotes are
	// everywhere in JSON, and a search that starts at a common byte is slow.
	p := append(append(pat[:0], name...), '"')
	for found := 0; found < limit; {
		i := bytes.Index(data, p)
		if i < 0 {
			return dst
		}
		quoted := i > 0 && data[i-1] == '"'
		data = data[i+len(p):]
		if !quoted {
			continue // the end of a longer name, or of a string's content
		}
		j := skipSpace(data, 0)
		if j >= len(data) || data[j] != ':' {
			continue // the name was a value, not a member's name
		}
		j = skipSpace(data, j+1)
		if j >= len(data) || data[j] != '"' {
			continue // not a string (null, say)
		}
		end := bytes.IndexByte(data[j+1:], '"')
		if end < 0 {
			return dst // cut off
		}
		v := data[j+1 : j+1+end]
		data = data[j+1+end+1:]
		if len(v) > maxLen || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
			continue
		}
		dst = append(dst, string(v))
		found++
	}
	return dst
}
