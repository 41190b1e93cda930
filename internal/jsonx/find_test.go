package jsonx

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendStrings(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"openai chunk", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, []string{"stop"}},
		{"two choices", `{"choices":[{"finish_reason":"stop"},{"finish_reason" : "length"}]}`, []string{"stop", "length"}},
		{"null", `{"choices":[{"finish_reason":null}]}`, nil},
		{"inside a string", `{"content":"say \"finish_reason\":\"stop\" now","finish_reason":"length"}`, []string{"length"}},
		{"a value, not a name", `{"a":"finish_reason","b":1}`, nil},
		{"fragment starting inside a string", `ason\":\"x\" tail","finish_reason":"tool_calls"}]}`, []string{"tool_calls"}},
		{"cut off", `{"finish_reason":"sto`, nil},
		{"escaped value skipped", `{"finish_reason":"a\"b","finish_reason":"ok"}`, []string{"ok"}},
		{"too long skipped", `{"finish_reason":"` + string(bytes.Repeat([]byte("x"), 65)) + `","finish_reason":"ok"}`, []string{"ok"}},
		{"limit", `[{"finish_reason":"1"},{"finish_reason":"2"},{"finish_reason":"3"},{"finish_reason":"4"},{"finish_reason":"5"}]`, []string{"1", "2", "3", "4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendStrings(nil, []byte(tc.data), "finish_reason", 4, 64)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// collect gathers, in document order, the string values of the members
// named name in a decoded JSON value.
func collect(v any, name string, out *[]string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collect(e, name, out)
		}
	case orderedObject:
		for _, m := range x {
			if s, ok := m.value.(string); ok && m.key == name {
				*out = append(*out, s)
			}
			collect(m.value, name, out)
		}
	}
}

type member struct {
	key   string
	value any
}

// orderedObject keeps an object's members in order, which map decoding
// loses.
type orderedObject []member

// decodeOrdered decodes data keeping objects' member order.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			var o orderedObject
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, member{k.(string), v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			var a []any
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
	}
	return tok, nil
}

// FuzzAppendStrings: on a valid UTF-8 document without escapes, the raw scan
// finds exactly the values encoding/json decodes, in order; on any
// document it finds only values encoding/json decodes.
func FuzzAppendStrings(f *testing.F) {
	f.Add([]byte(`{"choices":[{"finish_reason":"stop"},{"x":{"finish_reason":"length"}}]}`))
	f.Add([]byte(`{"content":"say \"finish_reason\":\"stop\"","finish_reason":"ok"}`))
	f.Add([]byte(`["finish_reason",{"finish_reason":null,"finish_reason":"a"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !Valid(data) {
			AppendStrings(nil, data, "finish_reason", 8, 64) // must not panic
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		v, err := decodeOrdered(dec)
		if err != nil {
			t.Skip() // a value encoding/json's decoder reads differently (duplicate handling is not at issue here)
		}
		var want []string
		collect(v, "finish_reason", &want)
		got := AppendStrings(nil, data, "finish_reason", 1<<30, 1<<30)
		if bytes.IndexByte(data, '\\') < 0 && utf8.Valid(data) {
			if !slices.Equal(got, want) {
				t.Errorf("got %q; encoding/json finds %q", got, want)
			}
			return
		}
		for _, g := range got { // with escapes, a subset
			if !slices.Contains(want, g) {
				t.Errorf("found %q, which encoding/json does not", g)
			}
		}
	})
}

// BenchmarkAppendStrings scans a whole chat completion and one stream
// chunk for their finish reasons, as the OpenAI relays do for every answer
// and every event.
func BenchmarkAppendStrings(b *testing.B) {
	for _, bc := range []struct{ name, data string }{
		{"completion", `{"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat(`a "quoted" word, `, 24) + `","refusal":null},` +
			`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":50,"total_tokens":58},"system_fingerprint":"fp_x"}`},
		{"chunk", `{"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_x",` +
			`"choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}],"usage":null}`},
	} {
		data := []byte(bc.data)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var dst []string
			for b.Loop() {
				dst = AppendStrings(dst[:0], data, "finish_reason", 8, 64)
			}
		})
	}
}

// FuzzIndexQuoted: IndexQuoted finds what bytes.Index finds.
func FuzzIndexQuoted(f *testing.F) {
	f.Add([]byte(`{"usage":null,"x":"usage"}`), "usage")
	f.Add([]byte(`"a""a"`), "a")
	f.Add([]byte(`x"usage"`), "usage")
	f.Add([]byte(`usage"`), "usage")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if name == "" {
			return
		}
		if got, want := IndexQuoted(data, name), bytes.Index(data, []byte(`"`+name+`"`)); got != want {
			t.Errorf("IndexQuoted(%q, %q) = %d; bytes.Index says %d", data, name, got, want)
		}
	})
}
