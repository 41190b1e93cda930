package seal_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

func TestRoundTrip(t *testing.T) {
	big := make([]byte, 1<<20+3)
	rand.Read(big)
	for _, alg := range algs {
		s := mustNew(t, key(7), nil, alg)
		for _, n := range []int{0, 1, 15, 16, 17, 64, 1000, len(big)} {
			t.Run(fmt.Sprintf("%v/%d", alg, n), func(t *testing.T) {
				pt := big[:n]
				ct := mustSeal(t, s, pt, "tenant-42", "openai api key")
				if got, want := len(ct), n+overhead(alg); got != want {
					t.Errorf("len(ciphertext) = %d; want %d", got, want)
				}
				if got, want := ct[:3], []byte{1, byte(alg), 7}; !bytes.Equal(got, want) {
					t.Errorf("header = %v; want %v", got, want)
				}
				if n >= 16 && bytes.Contains(ct, pt[:16]) {
					t.Error("ciphertext contains the plaintext")
				}
				got, err := s.Open(ct, "tenant-42", "openai api key")
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("Open = %d bytes, not the plaintext", len(got))
				}
				if got == nil {
					t.Error("Open returned nil for a valid ciphertext; want a non-nil slice")
				}
			})
		}
	}
}

func TestOpenReturnsFreshSlice(t *testing.T) {
	s := mustNew(t, key(1), nil, 0)
	ct := mustSeal(t, s, []byte("sk-live-abc"), "o", "p")
	pt, err := s.Open(ct, "o", "p")
	if err != nil {
		t.Fatal(err)
	}
	clear(pt)
	again, err := s.Open(ct, "o", "p")
	if err != nil || string(again) != "sk-live-abc" {
		t.Fatalf("Open after clearing an earlier result = %q, %v; want the plaintext", again, err)
	}
}

func TestSealNeverAliasesPlaintext(t *testing.T) {
	s := mustNew(t, key(1), nil, 0)
	pt := make([]byte, 10, 100)
	copy(pt, "0123456789")
	ct := mustSeal(t, s, pt, "o", "p")
	if string(pt) != "0123456789" {
		t.Errorf("Seal changed its plaintext to %q", pt)
	}
	if string(pt[:cap(pt)][10:20]) != string(make([]byte, 10)) {
		t.Error("Seal wrote into the plaintext's spare capacity")
	}
	if _, err := s.Open(ct, "o", "p"); err != nil {
		t.Fatal(err)
	}
}

// A sealer holding versions 1, 2 (current) and 3, so that a flipped
// version bit can land on a known version as well as an unknown one.
func tamperSealer(t *testing.T, alg seal.Algorithm) *seal.Sealer {
	return mustNew(t, key(2), []seal.Key{key(1), key(3)}, alg)
}

func TestTamperedByteRefused(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			s := tamperSealer(t, alg)
			ct := mustSeal(t, s, []byte("a credential of forty bytes, more or so"), "tenant-1", "purpose")
			ivEnd := overhead(alg) - 16
			region := func(i int) string {
				switch {
				case i < 3:
					return "header"
				case i < ivEnd:
					return "nonce"
				case i < len(ct)-16:
					return "body"
				}
				return "tag"
			}
			seen := map[string]bool{}
			for i := range ct {
				for _, mask := range []byte{0x01, 0x02, 0x80, 0xff} {
					bad := bytes.Clone(ct)
					bad[i] ^= mask
					pt, err := s.Open(bad, "tenant-1", "purpose")
					if err == nil {
						t.Fatalf("byte %d (%s) ^ %#x: Open succeeded with %q", i, region(i), mask, pt)
					}
					if pt != nil {
						t.Errorf("byte %d: Open returned %d bytes with its error", i, len(pt))
					}
					if !errors.Is(err, seal.ErrOpen) && !(i == 2 && errors.Is(err, seal.ErrUnknownVersion)) {
						t.Errorf("byte %d (%s) ^ %#x: got %v; want ErrOpen", i, region(i), mask, err)
					}
					seen[region(i)] = true
					if _, _, err := s.Reseal(bad, "tenant-1", "purpose"); err == nil {
						t.Fatalf("byte %d ^ %#x: Reseal succeeded", i, mask)
					}
				}
			}
			if len(seen) != 4 {
				t.Errorf("regions covered = %v; want header, nonce, body, tag", seen)
			}
			// Flipping the low bit of version 2 names version 3, which this
			// sealer holds: the error is ErrOpen, not ErrUnknownVersion.
			bad := bytes.Clone(ct)
			bad[2] ^= 1
			if _, err := s.Open(bad, "tenant-1", "purpose"); !errors.Is(err, seal.ErrOpen) || errors.Is(err, seal.ErrUnknownVersion) {
				t.Errorf("version 2 -> 3: got %v; want ErrOpen alone", err)
			}
			bad[2] = 200
			if _, err := s.Open(bad, "tenant-1", "purpose"); !errors.Is(err, seal.ErrUnknownVersion) {
				t.Errorf("version 200: got %v; want ErrUnknownVersion", err)
			}
		})
	}
}

func TestAlgorithmByteSwapRefused(t *testing.T) {
	// The same bytes relabelled as the other algorithm must not open.
	s := mustNew(t, key(1), nil, seal.XChaCha20Poly1305)
	ct := mustSeal(t, s, bytes.Repeat([]byte("x"), 64), "o", "p")
	ct[1] = byte(seal.AES256GCM)
	if _, err := s.Open(ct, "o", "p"); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("XChaCha ciphertext labelled AES: got %v; want ErrOpen", err)
	}
}

func TestTruncatedAndExtendedRefused(t *testing.T) {
	for _, alg := range algs {
		s := mustNew(t, key(1), nil, alg)
		for _, pt := range [][]byte{nil, []byte("secret")} {
			ct := mustSeal(t, s, pt, "o", "p")
			for n := range len(ct) {
				_, err := s.Open(ct[:n], "o", "p")
				wantOpenErr(t, fmt.Sprintf("%v: %d of %d bytes", alg, n, len(ct)), err)
			}
			_, err := s.Open(append(bytes.Clone(ct), 0), "o", "p")
			wantOpenErr(t, fmt.Sprintf("%v: one byte appended", alg), err)
		}
	}
}

func TestWrongOwnerOrPurposeRefused(t *testing.T) {
	for _, alg := range algs {
		s := mustNew(t, key(1), nil, alg)
		cases := []struct {
			name                string
			sealOwner, sealPurp string
			openOwner, openPurp string
		}{
			{"wrong owner", "tenant-1", "openai", "tenant-2", "openai"},
			{"wrong purpose", "tenant-1", "openai", "tenant-1", "anthropic"},
			{"owner and purpose swapped", "a", "b", "b", "a"},
			{"boundary moved left", "ab", "c", "a", "bc"},
			{"boundary moved right", "a", "bc", "ab", "c"},
			{"all in owner", "", "ab", "ab", ""},
			{"empty owner vs some", "", "p", "x", "p"},
			{"case differs", "Tenant-1", "openai", "tenant-1", "openai"},
			{"trailing NUL", "tenant-1", "openai", "tenant-1\x00", "openai"},
			{"length-prefix lookalike", "a", "\x01b", "a\x01", "b"},
		}
		for _, c := range cases {
			t.Run(alg.String()+"/"+c.name, func(t *testing.T) {
				ct := mustSeal(t, s, []byte("sk-123"), c.sealOwner, c.sealPurp)
				if _, err := s.Open(ct, c.sealOwner, c.sealPurp); err != nil {
					t.Fatalf("Open with the sealing pair: %v", err)
				}
				pt, err := s.Open(ct, c.openOwner, c.openPurp)
				if err == nil {
					t.Fatalf("Open(%q, %q) of data sealed for (%q, %q) = %q; want an error",
						c.openOwner, c.openPurp, c.sealOwner, c.sealPurp, pt)
				}
				// Exactly ErrOpen: no detail that tells a wrong owner from tampering.
				if err != seal.ErrOpen {
					t.Errorf("got %v; want ErrOpen itself", err)
				}
			})
		}
	}
}

func TestCopiedToAnotherRowRefused(t *testing.T) {
	// The threat the owner binding answers: a sealed credential copied from
	// one row of the database to another owner's row.
	s := mustNew(t, key(1), nil, 0)
	rows := map[string][]byte{
		"acct-1": mustSeal(t, s, []byte("sk-alice"), "acct-1", "upstream key"),
		"acct-2": mustSeal(t, s, []byte("sk-bob"), "acct-2", "upstream key"),
	}
	rows["acct-2"] = rows["acct-1"]
	if _, err := s.Open(rows["acct-2"], "acct-2", "upstream key"); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("acct-1's credential copied to acct-2: got %v; want ErrOpen", err)
	}
}

func TestWrongSecretSameVersionRefused(t *testing.T) {
	a := mustNew(t, seal.Key{Version: 1, Secret: secret(1)}, nil, 0)
	b := mustNew(t, seal.Key{Version: 1, Secret: secret(2)}, nil, 0)
	ct := mustSeal(t, a, []byte("x"), "o", "p")
	if _, err := b.Open(ct, "o", "p"); err != seal.ErrOpen {
		t.Errorf("got %v; want ErrOpen", err)
	}
}

func TestMalformedHeader(t *testing.T) {
	s := mustNew(t, key(1), nil, 0)
	valid := mustSeal(t, s, []byte("x"), "o", "p")
	with := func(i int, b byte) []byte { c := bytes.Clone(valid); c[i] = b; return c }
	cases := []struct {
		name string
		ct   []byte
		want error
		msg  string
	}{
		{"nil", nil, seal.ErrOpen, "seal: message authentication failed: ciphertext truncated"},
		{"header only", valid[:3], seal.ErrOpen, "seal: message authentication failed: ciphertext truncated"},
		{"format 0", with(0, 0), seal.ErrOpen, "seal: message authentication failed: unknown format"},
		{"format 2", with(0, 2), seal.ErrOpen, "seal: message authentication failed: unknown format"},
		{"algorithm 0", with(1, 0), seal.ErrOpen, "seal: message authentication failed: unknown algorithm"},
		{"algorithm 3", with(1, 3), seal.ErrOpen, "seal: message authentication failed: unknown algorithm"},
		{"version 0", with(2, 0), seal.ErrUnknownVersion, "seal: unknown key version 0"},
		{"version 9", with(2, 9), seal.ErrUnknownVersion, "seal: unknown key version 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Open(c.ct, "o", "p")
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v; want %v", err, c.want)
			}
			if err.Error() != c.msg {
				t.Errorf("message = %q; want %q", err, c.msg)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			v1 := mustNew(t, key(1), nil, alg)
			old := mustSeal(t, v1, []byte("sk-rotate-me"), "tenant-9", "openai")

			v2 := mustNew(t, key(2), []seal.Key{key(1)}, alg)
			if v2.Version() != 2 {
				t.Errorf("Version() = %d; want 2", v2.Version())
			}
			pt, err := v2.Open(old, "tenant-9", "openai")
			if err != nil || string(pt) != "sk-rotate-me" {
				t.Fatalf("Open of a v1 ciphertext after rotation = %q, %v", pt, err)
			}
			if got := mustSeal(t, v2, pt, "tenant-9", "openai")[2]; got != 2 {
				t.Errorf("new seal's version = %d; want 2", got)
			}

			moved, changed, err := v2.Reseal(old, "tenant-9", "openai")
			if err != nil || !changed {
				t.Fatalf("Reseal(v1 ciphertext) = changed %v, %v; want true, nil", changed, err)
			}
			if moved[2] != 2 || Algorithm(moved) != alg {
				t.Errorf("resealed header = %v; want version 2, %v", moved[:3], alg)
			}
			if bytes.Equal(moved, old) {
				t.Error("Reseal returned the old ciphertext while reporting a change")
			}

			same, changed, err := v2.Reseal(moved, "tenant-9", "openai")
			if err != nil || changed {
				t.Fatalf("Reseal(current ciphertext) = changed %v, %v; want false, nil", changed, err)
			}
			if &same[0] != &moved[0] || len(same) != len(moved) {
				t.Error("Reseal of a current ciphertext did not return it as is")
			}
			if _, _, err := v2.Reseal(old, "tenant-8", "openai"); err != seal.ErrOpen {
				t.Errorf("Reseal for the wrong owner: got %v; want ErrOpen", err)
			}

			// v1 dropped: what was resealed still opens, what was not is
			// reported as an unknown version, not as tampering.
			only2 := mustNew(t, key(2), nil, alg)
			if pt, err := only2.Open(moved, "tenant-9", "openai"); err != nil || string(pt) != "sk-rotate-me" {
				t.Errorf("Open of the resealed ciphertext = %q, %v", pt, err)
			}
			_, err = only2.Open(old, "tenant-9", "openai")
			if !errors.Is(err, seal.ErrUnknownVersion) || errors.Is(err, seal.ErrOpen) {
				t.Errorf("Open of a v1 ciphertext after dropping v1: got %v; want ErrUnknownVersion", err)
			}
			if _, _, err := only2.Reseal(old, "tenant-9", "openai"); !errors.Is(err, seal.ErrUnknownVersion) {
				t.Errorf("Reseal after dropping v1: got %v; want ErrUnknownVersion", err)
			}
		})
	}
}

// Algorithm returns a ciphertext's algorithm byte.
func Algorithm(ct []byte) seal.Algorithm { return seal.Algorithm(ct[1]) }

func TestAlgorithmSwitchIsARotation(t *testing.T) {
	aes := mustNew(t, key(1), nil, seal.AES256GCM)
	old := mustSeal(t, aes, []byte("sk"), "o", "p")
	x := mustNew(t, key(1), nil, seal.XChaCha20Poly1305)
	if pt, err := x.Open(old, "o", "p"); err != nil || string(pt) != "sk" {
		t.Fatalf("XChaCha sealer opening AES ciphertext = %q, %v", pt, err)
	}
	moved, changed, err := x.Reseal(old, "o", "p")
	if err != nil || !changed || Algorithm(moved) != seal.XChaCha20Poly1305 || moved[2] != 1 {
		t.Fatalf("Reseal = %v, %v, %v; want an XChaCha v1 ciphertext", moved[:3], changed, err)
	}
	if pt, err := aes.Open(moved, "o", "p"); err != nil || string(pt) != "sk" {
		t.Errorf("AES sealer opening XChaCha ciphertext = %q, %v", pt, err)
	}
}

func TestNoncesUnique(t *testing.T) {
	const n = 5000
	for _, alg := range algs {
		s := mustNew(t, key(1), nil, alg)
		nonceLen := overhead(alg) - 3 - 16
		nonces := make(map[string]bool, n)
		tags := make(map[string]bool, n)
		for range n {
			ct := mustSeal(t, s, []byte("same plaintext every time"), "o", "p")
			nonce := string(ct[3 : 3+nonceLen])
			if nonces[nonce] {
				t.Fatalf("%v: nonce repeated within %d seals", alg, n)
			}
			nonces[nonce] = true
			tags[string(ct[len(ct)-16:])] = true
		}
		if len(tags) != n {
			t.Errorf("%v: %d distinct tags for %d seals of one plaintext", alg, len(tags), n)
		}
	}
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	const (
		owner     = "owner-canary-7f3a"
		purpose   = "purpose-canary-19bd"
		plaintext = "plaintext-canary-c0ffee"
	)
	k := seal.Key{Version: 1, Secret: []byte("master-secret-canary-0123456789abcdef")}
	s := mustNew(t, k, nil, 0)
	ct := mustSeal(t, s, []byte(plaintext), owner, purpose)
	var errs []error
	collect := func(_ []byte, err error) { errs = append(errs, err) }
	collect(s.Open(ct, owner+"x", purpose))
	collect(s.Open(ct, owner, purpose+"x"))
	collect(s.Open(ct[:len(ct)-1], owner, purpose))
	collect(s.Open(ct[:2], owner, purpose))
	bad := bytes.Clone(ct)
	bad[2] = 77
	collect(s.Open(bad, owner, purpose))
	_, err := s.OpenSecret(ct, "x", purpose)
	errs = append(errs, err)
	_, _, err = s.Reseal(ct, "x", purpose)
	errs = append(errs, err)
	for _, bad := range []seal.Key{
		{Version: 1, Secret: []byte("short-secret-canary")},
		{Version: 0, Secret: k.Secret},
	} {
		_, err := seal.New(bad, nil, nil)
		errs = append(errs, err)
	}
	_, err = seal.New(k, []seal.Key{{Version: 2, Secret: k.Secret}}, nil)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		msg := fmt.Sprintf("%v %+v %#v", err, err, err)
		for _, canary := range []string{"canary", "master-secret", "short-secret", fmt.Sprintf("%x", k.Secret[:8])} {
			if bytes.Contains([]byte(msg), []byte(canary)) {
				t.Errorf("case %d: error %q contains %q", i, msg, canary)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := mustNew(t, key(2), []seal.Key{key(1)}, 0)
	old := mustSeal(t, mustNew(t, key(1), nil, seal.XChaCha20Poly1305), []byte("old"), "o", "p")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			owner := fmt.Sprint("owner-", g)
			for i := range 200 {
				pt := []byte(fmt.Sprint("secret-", g, "-", i))
				ct, err := s.Seal(pt, owner, "p")
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Open(ct, owner, "p")
				if err != nil || !bytes.Equal(got, pt) {
					errs <- fmt.Errorf("goroutine %d: Open = %q, %v", g, got, err)
					return
				}
				if _, changed, err := s.Reseal(old, "o", "p"); err != nil || !changed {
					errs <- fmt.Errorf("goroutine %d: Reseal = %v, %v", g, changed, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestZeroSealer(t *testing.T) {
	var zero seal.Sealer
	var nilSealer *seal.Sealer
	for name, s := range map[string]*seal.Sealer{"zero": &zero, "nil": nilSealer} {
		if _, err := s.Seal([]byte("x"), "o", "p"); err == nil {
			t.Errorf("%s Sealer: Seal succeeded", name)
		}
		if _, err := s.Open([]byte{1, 1, 1}, "o", "p"); err == nil || errors.Is(err, seal.ErrOpen) {
			t.Errorf("%s Sealer: Open = %v; want the not-made-by-New error", name, err)
		}
	}
}
