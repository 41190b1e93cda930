package redact_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

func testPseudonymizer(t *testing.T, fill byte) *redact.Pseudonymizer {
	t.Helper()
	p, err := redact.NewPseudonymizer(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatalf("NewPseudonymizer: %v", err)
	}
	return p
}

func TestPseudonymizer(t *testing.T) {
	p := testPseudonymizer(t, 7)
	const email = "Alice.Example@Mail.Example"
	a := p.Of("signup-email", email)
	if !regexp.MustCompile(`^pn_[a-z2-7]{32}$`).MatchString(a) {
		t.Errorf("Of = %q; want pn_ and 32 base32 characters", a)
	}
	// Known answer, so that a change of derivation, encoding or length
	// (which would orphan every stored pseudonym) fails here; computed
	// independently of this package, with Python's hmac and hashlib.
	if want := "pn_lt5a2lz3j4bb5vyyi2uyzjcydfscmrpu"; a != want {
		t.Errorf("Of = %q; want %q", a, want)
	}
	for _, tc := range []struct {
		name, purpose, id string
		same              bool
	}{
		{"stable", "signup-email", email, true},
		{"trimmed", "signup-email", "  " + email + "\n", true},
		{"e-mail lower-cased", "signup-email", strings.ToLower(email), true},
		{"other id", "signup-email", "bob@mail.example", false},
		{"other purpose", "trial-email", email, false},
		{"purpose boundary", "signup-emai", "l" + email, false},
	} {
		got := p.Of(tc.purpose, tc.id)
		if (got == a) != tc.same {
			t.Errorf("%s: Of(%q, %q) = %q; same as %q: %v; want %v", tc.name, tc.purpose, tc.id, got, a, got == a, tc.same)
		}
	}
	if p.Of("phone", "+1 555 0100") == p.Of("phone", "+1 555 0101") {
		t.Error("different phone numbers share a pseudonym")
	}
	if p.Of("user", "Bob") == p.Of("user", "bob") {
		t.Error("identifiers other than e-mail addresses were lower-cased")
	}
	if got := p.Of("signup-email", " \t"); got != "" {
		t.Errorf("Of(blank) = %q; want empty", got)
	}
	if other := testPseudonymizer(t, 8).Of("signup-email", email); other == a {
		t.Error("different keys give the same pseudonym")
	}
	for _, part := range []string{"alice", "example", "mail"} {
		if strings.Contains(strings.ToLower(a), part) {
			t.Errorf("pseudonym %q echoes %q", a, part)
		}
	}
}

func TestPseudonymizerKey(t *testing.T) {
	if _, err := redact.NewPseudonymizer(make([]byte, 31)); err == nil {
		t.Error("NewPseudonymizer accepted a 31-byte key")
	}
	key := bytes.Repeat([]byte("k3y-material-"), 3)
	p, err := redact.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	before := p.Of("x", "id")
	key[0] ^= 0xff // NewPseudonymizer copied it
	if p.Of("x", "id") != before {
		t.Error("changing the caller's key slice changed the pseudonyms")
	}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", p, p, p), fmt.Sprint(*p)} {
		if strings.Contains(out, "k3y") || strings.Contains(out, "0x6b, 0x33") {
			t.Errorf("printing a Pseudonymizer showed key material: %s", out)
		}
	}
}

func TestPseudonymizerConcurrent(t *testing.T) {
	p := testPseudonymizer(t, 1)
	want := p.Of("e", "a@b.example")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got := p.Of("e", "a@b.example"); got != want {
					t.Errorf("Of = %q; want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
