package redact_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

const (
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	keyChars = alnum + "-_"
	upper    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// random spreads raw over n characters of alphabet, deterministically.
func random(raw []byte, alphabet string, n int) string {
	if len(raw) == 0 {
		raw = []byte{42}
	}
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(int(raw[i%len(raw)])+i*31+i/len(raw)*7)%len(alphabet)])
	}
	return b.String()
}

// plant returns a credential of one of the shapes Mask promises to catch,
// in the context that makes it recognisable, and the part of it that must
// not survive masking.
func plant(shape uint8, raw []byte) (planted, hidden string) {
	hideAllButFour := func(prefix, body string) (string, string) {
		return prefix + body, body[:len(body)-4]
	}
	switch shape % 13 {
	case 0:
		return hideAllButFour("sk-proj-", random(raw, keyChars, 40))
	case 1:
		return hideAllButFour("sk-ant-api03-", random(raw, keyChars, 80))
	case 2:
		return hideAllButFour("AIza", random(raw, keyChars, 35))
	case 3:
		return hideAllButFour("AKIA", random(raw, upper, 16))
	case 4:
		return hideAllButFour("ghp_", random(raw, alnum, 36))
	case 5:
		return hideAllButFour("wk_", random(raw, alnum, 36))
	case 6:
		return hideAllButFour("zeta_", random(raw, alnum, 36))
	case 7:
		h, p, sig := random(raw, keyChars, 20), random(raw[min(1, len(raw)):], keyChars, 24), random(raw, keyChars, 16)
		return "eyJ" + h + ".eyJ" + p + "." + sig, p
	case 8:
		cred := random(raw, alnum, 23) + "7"
		return "Bearer " + cred, cred
	case 9:
		cred := random(raw, alnum, 24)
		return "x-api-key: " + cred, cred
	case 10:
		cred := random(raw, alnum, 24)
		return "https://h.example/v1/m?alt=sse&key=" + cred, cred
	case 11:
		cred := random(raw, alnum, 24)
		return "https://user:" + cred + "@h.example/v1", cred
	default:
		cred := random(raw, alnum+"+/", 24)
		return `{"api_key": "` + cred + `"}`, cred
	}
}

func seedFuzz(f *testing.F) {
	for i, s := range []string{
		"", "hello", "Authorization:", "Bearer", "x-api-key:", "Cookie: a=b;", `{"password":"`, "?key=", "https://",
		"eyJhbGciOi.", "%3D", "task-", "map[Authorization:[", `\"api_key\":\"`, "Basic", "wk_", "sk-",
		"GET https://h.example/p?q=1: EOF", "Authorization: Token abc", "password == x",
	} {
		f.Add(s, "trailing text", uint8(i), []byte("seed"+s))
		f.Add("leading", s, uint8(i+7), []byte(s))
	}
}

func FuzzMask(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, left, right string, shape uint8, raw []byte) {
		planted, hidden := plant(shape, raw)
		if strings.Contains(left, hidden) || strings.Contains(right, hidden) {
			t.Skip("the context holds the secret itself")
		}
		in := left + " " + planted + " " + right
		out := redact.Mask(in)
		if strings.Contains(out, hidden) {
			t.Fatalf("Mask(%q) = %q; still holds %q", in, out, hidden)
		}
		if again := redact.Mask(out); again != out {
			t.Fatalf("Mask not idempotent:\n in   %q\n once %q\n twice %q", in, out, again)
		}
		// Any text at all: no panic, idempotent.
		if m := redact.Mask(left); redact.Mask(m) != m {
			t.Fatalf("Mask not idempotent on %q: %q, then %q", left, m, redact.Mask(m))
		}
	})
}

var errFuzzSentinel = errors.New("sentinel")

func FuzzScrubError(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, left, right string, shape uint8, raw []byte) {
		planted, hidden := plant(shape, raw)
		query := random(raw, alnum, 20)
		for _, s := range []string{hidden, query} {
			if strings.Contains(left, s) || strings.Contains(right, s) {
				t.Skip("the context holds the secret itself")
			}
		}
		for _, err := range []error{
			errors.New(left + " " + planted + " " + right),
			&url.Error{Op: "Post", URL: "https://u:" + query + "@h.example/" + left + "?q=" + query + "#" + query, Err: errors.New(right + " " + planted)},
			errors.Join(errFuzzSentinel, &url.Error{Op: "Get", URL: left + "?key=" + query, Err: errors.New(planted)}),
		} {
			s := redact.ScrubError(err)
			out := s.Error()
			if strings.Contains(out, hidden) || strings.Contains(out, query) {
				t.Fatalf("ScrubError(%q) = %q; still holds %q or %q", err.Error(), out, hidden, query)
			}
			if again := redact.ScrubError(errors.New(out)).Error(); again != out {
				t.Fatalf("ScrubError not idempotent:\n in   %q\n once %q\n twice %q", err.Error(), out, again)
			}
			if errors.Is(err, errFuzzSentinel) != errors.Is(s, errFuzzSentinel) {
				t.Fatalf("errors.Is differs after scrubbing %q", err.Error())
			}
		}
	})
}
