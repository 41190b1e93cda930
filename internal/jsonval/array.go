package jsonval

import "github.com/wicket-gw/wicket/internal/jsonx"

// EachElem calls fn with each element of the JSON array v, in order, and
// does nothing if v is not an array.
func EachElem(v []byte, fn func([]byte)) {
	if len(v) == 0 || v[0] != '[' {
		return
	}
	for i := 1; ; i++ {
		start, end, ok := jsonx.ValueAt(v, i)
		if !ok {
			return // "]": the array is empty
		}
		fn(v[start:end])
		for i = end; i < len(v) && IsSpace(v[i]); i++ {
		}
		if i >= len(v) || v[i] != ',' {
			return
		}
	}
}

// EmptyArray reports whether v is [] (with any white space).
func EmptyArray(v []byte) bool {
	if len(v) == 0 || v[0] != '[' {
		return false
	}
	i := 1
	for i < len(v) && IsSpace(v[i]) {
		i++
	}
	return i < len(v) && v[i] == ']'
}
