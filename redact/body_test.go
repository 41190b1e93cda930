package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

func TestBodyNeverPrints(t *testing.T) {
	const canary = `{"messages":[{"role":"user","content":"canary-7f3a prompt"}]}`
	b := redact.NewBody([]byte(canary))
	for name, out := range printings(t, b) {
		for _, leak := range []string{"canary", "messages", "prompt", "7b22", "eyJ"} { // 7b22 is {" in hex, eyJ in base64
			if strings.Contains(out, leak) {
				t.Errorf("%s printed the body (%q): %s", name, leak, out)
			}
		}
	}
	want := "[redacted body, 61 bytes]"
	if got := b.String(); got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	if got, _ := b.MarshalJSON(); string(got) != `"`+want+`"` {
		t.Errorf("MarshalJSON() = %s; want %q", got, want)
	}
	if got := b.LogValue().String(); got != want {
		t.Errorf("LogValue() = %q; want %q", got, want)
	}
}

func TestBodyContent(t *testing.T) {
	content := []byte("hello")
	b := redact.NewBody(content)
	if got := b.Bytes(); !bytes.Equal(got, content) || &got[0] != &content[0] {
		t.Errorf("Bytes() = %q; want the slice given to NewBody", got)
	}
	if b.Len() != 5 {
		t.Errorf("Len() = %d; want 5", b.Len())
	}
	for _, tc := range []struct {
		b    redact.Body
		want string
	}{
		{redact.Body{}, "[redacted body, 0 bytes]"},
		{redact.NewBody(nil), "[redacted body, 0 bytes]"},
		{redact.NewBody([]byte("x")), "[redacted body, 1 byte]"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("String() = %q; want %q", got, tc.want)
		}
	}
	var zero redact.Body
	if zero.Bytes() != nil || zero.Len() != 0 {
		t.Errorf("zero Body: Bytes() = %v, Len() = %d; want nil, 0", zero.Bytes(), zero.Len())
	}
}
