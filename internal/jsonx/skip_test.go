package jsonx

import (
	"strings"
	"testing"
)

// refSkipString is skipString as it was, a byte at a time: the reference
// the word-at-a-time version must agree with.
func refSkipString(data []byte, i int) (int, bool) {
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

// refSkipNested is skipNested as it was, a byte at a time, using
// refSkipString.
func refSkipNested(data []byte, i int) (int, bool) {
	var stack [64]byte
	depth := 0
	for j := i; j < len(data); j++ {
		switch c := data[j]; c {
		case '"':
			end, ok := refSkipString(data, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '{', '[':
			if depth == len(stack) {
				return 0, false
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

// checkSkips compares skipString and skipNested with their references
// starting at each of data[:n] (whatever byte is there); it reports at
// most one difference.
func checkSkips(t *testing.T, data []byte, n int) {
	t.Helper()
	for i := range min(n, len(data)) {
		got, ok := skipString(data, i)
		want, wok := refSkipString(data, i)
		if got != want || ok != wok {
			t.Errorf("skipString(%q, %d) = %d, %v; want %d, %v", data, i, got, ok, want, wok)
			return
		}
		got, ok = skipNested(data, i)
		want, wok = refSkipNested(data, i)
		if got != want || ok != wok {
			t.Errorf("skipNested(%q, %d) = %d, %v; want %d, %v", data, i, got, ok, want, wok)
			return
		}
	}
}

// stringInserts are placed inside strings at every offset: escapes, a
// quote after an escaped backslash, a backslash before a control
// character (which the backslash skips), bytes the word tests could mark
// falsely after a borrow ('#' after '"', ']' after '\\') and bytes with
// the top bit set.
var stringInserts = []string{
	``, `\n`, `\"`, `\\`, `\\"`, `\\\"`, `\\\\"`, `\u00e9`, `"`, `\`,
	"\x00", "\x01", "\x1f", " ", "!", "#", "\x7f", "\x80", "\xa2", "\xdc", "\xff",
	`"#`, `\]`, "\x1f!", "\\\x01", "{", "}", "[", "]", "é", "日本", "😀",
}

// fillers make up the rest of a string: ASCII, and 2-, 3- and 4-byte
// UTF-8 (cut at any byte, which the scanners need not mind).
var fillers = []string{"a", "é", "日", "😀"}

// stringCase is a string of n bytes of filler with ins at byte k, after
// pad bytes of white space (so the string starts at every alignment).
func stringCase(pad, n, k int, filler, ins string) []byte {
	body := strings.Repeat(filler, n)[:n]
	return []byte(strings.Repeat(" ", pad) + `"` + body[:k] + ins + body[k:] + `"`)
}

// nestedCases exercise skipNested: brackets and quotes inside strings,
// white space and values between brackets, mismatches and depth.
var nestedCases = []string{
	`{}`, `[]`, `{"a":[1,2,{"b":"}]"}],"c":"\"{"}`, `[[[[[[[[]]]]]]]]`,
	`[{},[]]`, `[[],{}]`, `{"a":{},"b":[],"c":{}}`, `[{},[}]`, `[[],{]]`,
	`{"a":"\\"}`, `{"a":"\\\\"}`, `{"a":"\\\"}"}`, `[{]`, `[}`, `{]`, `]`, `}`,
	"[1,\n\t  2,   3,        4,         {\"x\"   :   null}      ]",
	"[\x01,\x00]", "[\"\x01\"]", `{"é":"日本","😀":["\u00e9"]}`,
	`{"a":[` + strings.Repeat(" ", 40) + `]}`, `{"a":"` + strings.Repeat("x", 40) + `"`,
	strings.Repeat("[", 64) + strings.Repeat("]", 64),
	strings.Repeat("[", 65) + strings.Repeat("]", 65),
	strings.Repeat("{\"k\":", 63) + "[]" + strings.Repeat("}", 63),
}

func TestSkipMatchesReference(t *testing.T) {
	t.Run("strings", func(t *testing.T) {
		for pad := range 8 {
			for n := 0; n <= 40; n++ {
				for k := 0; k <= n; k++ {
					for _, filler := range fillers {
						for _, ins := range stringInserts {
							data := stringCase(pad, n, k, filler, ins)
							// Unterminated, and followed by more.
							for _, d := range [][]byte{data, data[:len(data)-1], append(data, `,"b":1}`...)} {
								got, ok := skipString(d, pad)
								want, wok := refSkipString(d, pad)
								if got != want || ok != wok {
									t.Fatalf("skipString(%q, %d) = %d, %v; want %d, %v", d, pad, got, ok, want, wok)
								}
							}
						}
					}
				}
			}
		}
	})
	t.Run("control characters", func(t *testing.T) {
		for pad := range 8 {
			for n := 0; n <= 40; n++ {
				for k := 0; k <= n; k++ {
					for c := range byte(0x20) {
						d := stringCase(pad, n, k, "a", string(rune(c)))
						if end, ok := skipString(d, pad); ok {
							t.Fatalf("skipString(%q, %d) = %d, true; want false", d, pad, end)
						}
					}
				}
			}
		}
	})
	t.Run("nested", func(t *testing.T) {
		for _, c := range nestedCases {
			for pad := range 8 {
				checkSkips(t, []byte(strings.Repeat(" ", pad)+c), len(c)+pad)
			}
		}
		for n := 0; n <= 40; n++ {
			for k := 0; k <= n; k++ {
				for _, ins := range stringInserts {
					s := string(stringCase(0, n, k, "a", ins))
					d := []byte(`{"k":` + s + `,"l":[` + s + `]}`)
					checkSkips(t, d, len(d))
					d = []byte(`[` + strings.Repeat(" ", k) + ins + strings.Repeat(" ", n-k) + `]`)
					checkSkips(t, d, len(d))
				}
			}
		}
	})
}

// TestSkipStringEnds pins skipString's results on its edge cases, so the
// reference itself is checked.
func TestSkipStringEnds(t *testing.T) {
	for _, c := range []struct {
		in   string
		end  int
		want bool
	}{
		{`""`, 2, true},
		{`"abc"x`, 5, true},
		{`"\\"`, 4, true},
		{`"\\\\"`, 6, true},
		{`"\""`, 4, true},
		{`"\"`, 0, false},
		{`"abcdef\`, 0, false},
		{`"abcdefgh`, 0, false},
		{"\"abcdefg\x00\"", 0, false},
		{"\"abcdefg\\\x00\"", 11, true},
		{"\"日本語 café\"", 17, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			end, ok := skipString([]byte(c.in), 0)
			if end != c.end || ok != c.want {
				t.Errorf("skipString(%q) = %d, %v; want %d, %v", c.in, end, ok, c.end, c.want)
			}
		})
	}
}

// FuzzSkip checks skipString and skipNested against the byte-at-a-time
// references at every offset of the input.
func FuzzSkip(f *testing.F) {
	for _, c := range nestedCases {
		f.Add([]byte(c))
	}
	for _, c := range cases {
		f.Add([]byte(c))
	}
	for _, n := range []int{0, 7, 8, 9, 15, 16, 17} {
		for _, ins := range stringInserts {
			for _, k := range []int{0, n / 2, n} {
				f.Add(stringCase(0, n, k, "a", ins))
			}
		}
	}
	f.Add(stringCase(0, 20, 7, "é", `\`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// From the first eight bytes (every alignment), and with all of
		// it inside a string and inside an array.
		checkSkips(t, data, 8)
		checkSkips(t, append(append([]byte{'"'}, data...), '"'), 1)
		checkSkips(t, append(append([]byte{'['}, data...), ']'), 1)
	})
}
