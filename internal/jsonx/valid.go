package jsonx

// maxNesting is encoding/json's limit on nested objects and arrays, which
// Valid keeps so that both accept exactly the same inputs.
const maxNesting = 10000

// Valid reports whether data is one JSON value, exactly as
// encoding/json.Valid does (its nesting limit of 10,000 included), in one
// pass that allocates nothing. Strings, most of a request body, are scanned
// eight bytes at a time; encoding/json's scanner takes a function call per
// byte, so Valid is several times faster on a prompt.
func Valid(data []byte) bool {
	// containers holds one bit per open object or array: set for an
	// object.
	var containers [maxNesting/64 + 1]uint64
	depth := 0
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if depth == maxNesting {
				return false
			}
			if c == '{' {
				containers[depth/64] |= 1 << (depth % 64)
			} else {
				containers[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				depth--
				i++
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = validKey(data, i); !ok {
					return false
				}
			}
			continue
		case c == '"':
			var ok bool
			if i, ok = validString(data, i); !ok {
				return false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			var ok bool
			if i, ok = validNumber(data, i); !ok {
				return false
			}
		case c == 't':
			if !hasLiteral(data, i, "true") {
				return false
			}
			i += 4
		case c == 'f':
			if !hasLiteral(data, i, "false") {
				return false
			}
			i += 5
		case c == 'n':
			if !hasLiteral(data, i, "null") {
				return false
			}
			i += 4
		default:
			return false
		}
		// A value ended before i: close containers, or go on to the next
		// member or element.
		for {
			i = skipSpace(data, i)
			if depth == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			object := containers[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			c := data[i]
			if c == ',' {
				i = skipSpace(data, i+1)
				if object {
					var ok bool
					if i, ok = validKey(data, i); !ok {
						return false
					}
				}
				break
			}
			if (object && c == '}') || (!object && c == ']') {
				depth--
				i++
				continue
			}
			return false
		}
	}
}

// validKey checks a member's key and its colon at data[i:], and returns the
// index of its value (after spaces).
func validKey(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	i, ok := validString(data, i)
	if !ok {
		return 0, false
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return 0, false
	}
	return skipSpace(data, i+1), true
}

// validString checks the string starting at data[i] == '"' and returns the
// index after it: no control character, every escape one of JSON's.
func validString(data []byte, i int) (int, bool) {
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
			if j+1 >= len(data) {
				return 0, false
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) {
					return 0, false
				}
				for _, h := range data[j+2 : j+6] {
					if !isHex(h) {
						return 0, false
					}
				}
				j += 6
			default:
				return 0, false
			}
		default:
			return 0, false
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validNumber checks the number starting at data[i] and returns the index
// after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return 0, false
	case data[i] == '0':
		i++
	case isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return 0, false
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return 0, false
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, true
}

// hasLiteral reports whether data[i:] begins with lit.
func hasLiteral(data []byte, i int, lit string) bool {
	return len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit
}
