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
	for found := 0; found < limit; {
		i := IndexQuoted(data, name)
		if i < 0 {
			return dst
		}
		data = data[i+len(name)+2:]
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

// IndexQuoted returns the index in data of the first occurrence of name
// between quotes ("name"), or -1: bytes.Index(data, `"`+name+`"`), but
// faster on JSON, where quotes are everywhere, because it searches from
// the name, whose first byte is rarer. name must not be empty.
func IndexQuoted(data []byte, name string) int {
	var pat [64]byte
	if len(name)+1 > len(pat) {
		return bytes.Index(data, []byte(`"`+name+`"`))
	}
	p := append(append(pat[:0], name...), '"')
	for off := 1; off < len(data); {
		i := bytes.Index(data[off:], p)
		if i < 0 {
			return -1
		}
		if i += off; data[i-1] == '"' {
			return i - 1
		}
		off = i + 1
	}
	return -1
}
