package jsonval

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestContents(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`"abc"`, "abc", true},
		{`""`, "", true},
		{`"a\"b\u00e9"`, `a"bé`, true},
		{`12`, "", false},
		{`"`, "", false},
		{``, "", false},
	} {
		got, ok := Contents([]byte(tc.in))
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Contents(%s) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEachElem(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`[1, "a" ,{"b":[2]} , null]`, []string{`1`, `"a"`, `{"b":[2]}`, `null`}},
		{`[ ]`, nil},
		{`[]`, nil},
		{`{"a":1}`, nil},
		{``, nil},
		{"[\n\t[1,2]\r\n]", []string{`[1,2]`}},
	} {
		var got []string
		EachElem([]byte(tc.in), func(e []byte) { got = append(got, string(e)) })
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("EachElem(%s) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestEmptyArray(t *testing.T) {
	for in, want := range map[string]bool{`[]`: true, "[ \n]": true, `[1]`: false, `{}`: false, ``: false, `[`: false} {
		if got := EmptyArray([]byte(in)); got != want {
			t.Errorf("EmptyArray(%q) = %v; want %v", in, got, want)
		}
	}
}

func TestAfterKey(t *testing.T) {
	const key = `"usage"`
	for _, tc := range []struct {
		data string
		want string
		ok   bool
	}{
		{`{"usage" : {"a":1}}`, `{"a":1}`, true},
		{`{"usage":3,"x":1}`, `3`, true},
		{`["usage", 1]`, ``, false},
		{`{"usage"`, ``, false},
	} {
		i := strings.Index(tc.data, key)
		s, e, ok := AfterKey([]byte(tc.data), i, key)
		if ok != tc.ok || (ok && tc.data[s:e] != tc.want) {
			t.Errorf("AfterKey(%s) = %d, %d, %v; want %s, %v", tc.data, s, e, ok, tc.want, tc.ok)
		}
	}
}

// FuzzEachElem checks that EachElem, EmptyArray and Contents never panic,
// and that on valid JSON arrays (not null) EachElem yields exactly the elements
// encoding/json sees.
func FuzzEachElem(f *testing.F) {
	for _, s := range []string{`[1, "a" ,{"b":[2]} , null]`, `[ ]`, `"a\"b"`, `[[],[{}]]`, `{"a":1}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n int
		EachElem(data, func(e []byte) {
			n++
			if len(e) == 0 {
				t.Fatal("empty element")
			}
		})
		empty := EmptyArray(data)
		_, _ = Contents(data)
		var arr []json.RawMessage
		if len(data) == 0 || data[0] != '[' || json.Unmarshal(data, &arr) != nil {
			return // only arrays, as jsonx returns values: no leading space
		}
		if n != len(arr) || empty != (len(arr) == 0) {
			t.Fatalf("%s: EachElem saw %d elements, EmptyArray %v; encoding/json %d", data, n, empty, len(arr))
		}
	})
}

// FuzzAfterKey checks that AfterKey never panics and returns a span inside
// data.
func FuzzAfterKey(f *testing.F) {
	for _, s := range []string{`{"usage" : {"a":1}}`, `"usage"`, `"usage":`, `x"usage": [1,2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const key = `"usage"`
		for i := strings.Index(string(data), key); i >= 0; {
			s, e, ok := AfterKey(data, i, key)
			if ok && (s < 0 || e > len(data) || s >= e) {
				t.Fatalf("span %d:%d of %d bytes", s, e, len(data))
			}
			j := strings.Index(string(data[i+1:]), key)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	})
}
