package redisstore_test

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/redisstore"
)

// digestHex is a well-formed digest, in hex.
var digestHex = hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

var invalidationCases = []struct {
	payload string
	gen     string
	n       uint64
	counted bool
	ok      bool
}{
	{payload: "k3x9:1 " + digestHex, gen: "k3x9", n: 1, counted: true, ok: true},
	{payload: "3w5e11264sgsf:18446744073709551615 " + digestHex, gen: "3w5e11264sgsf", n: 1<<64 - 1, counted: true, ok: true},
	{payload: "a:007 " + digestHex, gen: "a", n: 7, counted: true, ok: true},
	{payload: "a:1 " + strings.ToUpper(digestHex), gen: "a", n: 1, counted: true, ok: true},
	{payload: digestHex, ok: true}, // a bare digest, from a replica of the previous version
	{payload: ""},
	{payload: " "},
	{payload: digestHex[:63]},
	{payload: digestHex + "0"},
	{payload: digestHex[:62] + "zz"},
	{payload: " " + digestHex},
	{payload: digestHex + " "},
	{payload: "a:1"},
	{payload: "a:1  " + digestHex},
	{payload: "a:1 " + digestHex + " x"},
	{payload: "a:0 " + digestHex},
	{payload: "a:-1 " + digestHex},
	{payload: "a:+1 " + digestHex},
	{payload: "a:1_0 " + digestHex},
	{payload: "a:18446744073709551616 " + digestHex},
	{payload: "a: " + digestHex},
	{payload: ":1 " + digestHex},
	{payload: "a " + digestHex},
	{payload: "A:1 " + digestHex},
	{payload: "a-b:1 " + digestHex},
	{payload: "a:b:1 " + digestHex},
	{payload: "abcdefghijklmn:1 " + digestHex},
}

func TestParseInvalidation(t *testing.T) {
	for _, tc := range invalidationCases {
		gen, n, counted, digest, ok := redisstore.ParseInvalidation(tc.payload)
		if ok != tc.ok || gen != tc.gen || n != tc.n || counted != tc.counted {
			t.Errorf("ParseInvalidation(%q) = %q, %d, %v, _, %v; want %q, %d, %v, _, %v",
				tc.payload, gen, n, counted, ok, tc.gen, tc.n, tc.counted, tc.ok)
		}
		if ok && digest != digestHex {
			t.Errorf("ParseInvalidation(%q): digest %q; want %q", tc.payload, digest, digestHex)
		}
	}
}

// FuzzParseInvalidation: the parser never panics, accepts only what the
// store publishes (or a bare digest), and reads back what it accepts.
func FuzzParseInvalidation(f *testing.F) {
	for _, tc := range invalidationCases {
		f.Add(tc.payload)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		gen, n, counted, digest, ok := redisstore.ParseInvalidation(payload)
		if !ok {
			if gen != "" || n != 0 || counted || digest != "" {
				t.Fatalf("ParseInvalidation(%q) refused it but returned %q, %d, %v, %q", payload, gen, n, counted, digest)
			}
			return
		}
		if len(digest) != 64 || !strings.EqualFold(payload[len(payload)-64:], digest) {
			t.Fatalf("ParseInvalidation(%q): digest %q is not the payload's", payload, digest)
		}
		if !counted {
			if len(payload) != 64 {
				t.Fatalf("ParseInvalidation(%q): a bare digest with more around it", payload)
			}
			return
		}
		if n == 0 || gen == "" {
			t.Fatalf("ParseInvalidation(%q) = %q, %d: want a generation and a count from 1", payload, gen, n)
		}
		// What the store would publish for it parses the same.
		again := gen + ":" + strconv.FormatUint(n, 10) + " " + digest
		g2, n2, c2, d2, ok2 := redisstore.ParseInvalidation(again)
		if !ok2 || g2 != gen || n2 != n || !c2 || d2 != digest {
			t.Fatalf("ParseInvalidation(%q) = %q, %d, %v, %q, %v; want %q, %d, true, %q, true", again, g2, n2, c2, d2, ok2, gen, n, digest)
		}
	})
}
