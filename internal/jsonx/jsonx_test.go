package jsonx

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func members(t testing.TB, data []byte) (map[string]string, error) {
	out := map[string]string{}
	err := Each(data, func(m Member) bool {
		var k string
		json.Unmarshal(append(append([]byte{'"'}, m.Key...), '"'), &k)
		if !bytes.Equal(data[m.Start:m.End], m.Value) {
			t.Fatalf("span %d:%d does not match value", m.Start, m.End)
		}
		if _, dup := out[k]; !dup {
			out[k] = string(m.Value)
		}
		return true
	})
	return out, err
}

var cases = []string{
	`{}`,
	` { } `,
	`{"model":"gpt-4o","stream":true}`,
	`{"model":"gpt-4o","messages":[{"role":"user","content":"hi \"there\" {[}"}],"max_tokens":12}`,
	`{"a":{"b":[1,2,{"c":null}]},"d":-1.5e3,"e":false,"f":"\u00e9\\"}`,
	`{"mo\u0064el":"x"}`,
	`{"stream_options":{"include_usage":false},"stream":true}`,
}

func TestEachMatchesEncodingJSON(t *testing.T) {
	for _, c := range cases {
		got, err := members(t, []byte(c))
		if err != nil {
			t.Fatalf("Each(%s): %v", c, err)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			t.Fatal(err)
		}
		wantS := map[string]string{}
		for k, v := range want {
			wantS[k] = string(v)
		}
		if diff := cmp.Diff(wantS, got); diff != "" {
			t.Errorf("Each(%s) (-want +got):\n%s", c, diff)
		}
	}
}

func TestEachRejects(t *testing.T) {
	for _, c := range []string{``, `[]`, `"x"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`, `{"a":[1}`, "{\"a\":\"\x01\"}", `{a:1}`, `{"a":1 "b":2}`, `{"a":tru}`} {
		if err := Each([]byte(c), func(Member) bool { return true }); err == nil {
			t.Errorf("Each(%q): got nil error; want ErrSyntax", c)
		}
	}
}

func TestGetAndScalars(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","stream":true,"max_tokens":256,"n":1.5,"s":"a\nb","z":null}`)
	v, start, end, ok := Get(body, "model")
	if s, _ := String(v); !ok || s != "gpt-4o" || string(body[start:end]) != `"gpt-4o"` {
		t.Errorf("Get(model) = %s, %v", v, ok)
	}
	v, _, _, _ = Get(body, "stream")
	if b, ok := Bool(v); !ok || !b {
		t.Errorf("stream = %s", v)
	}
	v, _, _, _ = Get(body, "max_tokens")
	if n, ok := Int(v); !ok || n != 256 {
		t.Errorf("max_tokens = %s", v)
	}
	v, _, _, _ = Get(body, "n")
	if _, ok := Int(v); ok {
		t.Error("Int accepted 1.5")
	}
	v, _, _, _ = Get(body, "s")
	if s, ok := String(v); !ok || s != "a\nb" {
		t.Errorf("String = %q", s)
	}
	v, _, _, _ = Get(body, "z")
	if !IsNull(v) {
		t.Error("IsNull(null) = false")
	}
	if _, _, _, ok := Get(body, "missing"); ok {
		t.Error("Get(missing) ok")
	}
}

func TestReplaceAndAppend(t *testing.T) {
	body := []byte(`{"model":"alias","stream":true}`)
	_, s, e, _ := Get(body, "model")
	got := Replace(body, s, e, []byte(`"real-model"`))
	if string(got) != `{"model":"real-model","stream":true}` {
		t.Errorf("Replace = %s", got)
	}
	got = AppendMember(got, "stream_options", []byte(`{"include_usage":true}`))
	if string(got) != `{"model":"real-model","stream":true,"stream_options":{"include_usage":true}}` {
		t.Errorf("AppendMember = %s", got)
	}
	if got := AppendMember([]byte(" { } "), "a", []byte("1")); string(got) != ` { "a":1} ` {
		t.Errorf("AppendMember on empty = %s", got)
	}
}

func FuzzEach(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"a":[{"b":"}"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := members(t, data)
		var want map[string]json.RawMessage
		jerr := json.Unmarshal(data, &want)
		if jerr == nil && want != nil && err != nil {
			t.Fatalf("Each refused a valid object %q: %v", data, err)
		}
		if jerr == nil && want != nil {
			for k, v := range want {
				var c bytes.Buffer
				json.Compact(&c, v)
				var g bytes.Buffer
				json.Compact(&g, []byte(got[k]))
				if c.String() != g.String() && !bytes.Contains(data, []byte(`"`+k+`"`)) {
					continue // a key spelled with escapes that decode to a duplicate
				}
				if c.String() != g.String() {
					// encoding/json keeps the last duplicate; Each reports the first.
					if bytes.Count(data, []byte(`"`+k+`"`)) > 1 {
						continue
					}
					t.Fatalf("member %q: Each %s; encoding/json %s", k, got[k], v)
				}
			}
		}
		if err == nil && json.Valid(data) {
			// Appending a member keeps it a valid object.
			out := AppendMember(data, "x", []byte(`1`))
			if !json.Valid(out) {
				t.Fatalf("AppendMember made invalid JSON: %q", out)
			}
		}
	})
}
