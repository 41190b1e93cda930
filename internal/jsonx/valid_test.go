package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{
	``, ` `, `{}`, `[]`, `{ }`, `[ ]`, `{"a":1}`, `{"a" : [1, 2.5, -3e7, true, false, null, "x"]}`,
	`"str"`, `"a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00"`, `"\u12"`, `"\uZZZZ"`, `"\x"`, "\"\x1f\"", "\"\x7f\xff\xfe\"",
	`0`, `-0`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `1E-2`, `-0.0e0`, `1.5e10`, `2.`, `+1`, `0x1`,
	`true`, `tru`, `truex`, `nul`, `null null`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`,
	`{"a":1 "b":2}`, `[1 2]`, `]`, `}`, `{]`, `[}`, `{"a":[}]`, `[[[[]]]]`, " \t\n\r{\"a\" \t:\n1\r}\n ",
	`"unterminated`, `"ends with backslash\`, `{"a":"b"}x`, `{"a":"b"} `, "\"\u2028\"", `"12345678901234567890"`,
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v; encoding/json says %v", s, got, want)
		}
	}
}

func TestValidNesting(t *testing.T) {
	for _, n := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			s := strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
			if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
				t.Errorf("nesting %d of %q: Valid %v; encoding/json %v", n, open, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v; encoding/json says %v", data, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"` + strings.Repeat("hello wicket, how are you today? ", 300) + `"}]}`)
	b.Run("jsonx", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}
