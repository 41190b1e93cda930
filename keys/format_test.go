package keys_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

func mustFormat(t testing.TB, prefix string) keys.Format {
	t.Helper()
	f, err := keys.NewFormat(prefix)
	if err != nil {
		t.Fatalf("NewFormat(%q): %v", prefix, err)
	}
	return f
}

func TestNewFormat(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"wk", true}, {"acme", true}, {"a1", true}, {"abcdefghijklmnop", true},
		{"", false}, {"a", false}, {"abcdefghijklmnopq", false}, {"1a", false},
		{"Wk", false}, {"w_k", false}, {"wk-", false}, {"wé", false},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			_, err := keys.NewFormat(tc.prefix)
			if (err == nil) != tc.ok {
				t.Errorf("NewFormat(%q) error = %v; want ok=%v", tc.prefix, err, tc.ok)
			}
			if err != nil && !errors.Is(err, keys.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestGenerateUniqueAndParses(t *testing.T) {
	f := mustFormat(t, "wk")
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	seen := make(map[string]struct{}, n)
	for range n {
		k, err := f.Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != f.Len() || !strings.HasPrefix(k, "wk_") {
			t.Fatalf("key has length %d and prefix %q; want %d and wk_", len(k), k[:3], f.Len())
		}
		if err := f.Parse(k); err != nil {
			t.Fatalf("Parse of a generated key: %v", err)
		}
		if _, dup := seen[k]; dup {
			t.Fatalf("duplicate key after %d", len(seen))
		}
		seen[k] = struct{}{}
	}
}

func TestIssuedKeysUnique(t *testing.T) {
	fx := newFixture(t, nil)
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	seen := make(map[string]struct{}, n)
	ids := make(map[string]struct{}, n)
	for range n {
		k, rec := fx.issue(t, keys.Spec{})
		if err := fx.m.Format().Parse(k); err != nil {
			t.Fatalf("Parse of an issued key: %v", err)
		}
		if _, dup := seen[k]; dup {
			t.Fatal("duplicate issued key")
		}
		if _, dup := ids[rec.ID]; dup {
			t.Fatal("duplicate key ID")
		}
		seen[k], ids[rec.ID] = struct{}{}, struct{}{}
	}
}

func TestRandomPartIsUniform(t *testing.T) {
	// Without rejection sampling, byte%62 would favour the first 8
	// characters by 25%; that bias is far outside the bound checked here.
	f := mustFormat(t, "wk")
	counts := map[byte]int{}
	const keysN = 10_000
	for range keysN {
		k, err := f.Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []byte(k[3 : 3+30]) {
			counts[c]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("saw %d distinct characters; want 62", len(counts))
	}
	want := keysN * 30 / 62 // ≈ 4839, standard deviation ≈ 69
	for c, n := range counts {
		if n < want-450 || n > want+450 {
			t.Errorf("character %q appeared %d times; want %d ± 450", c, n, want)
		}
	}
}

func TestParseRejectsEverySingleCharChange(t *testing.T) {
	f := mustFormat(t, "wk")
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-. "
	for range 20 {
		k, err := f.Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(k) {
			for j := range len(alphabet) {
				c := alphabet[j]
				if c == k[i] {
					continue
				}
				mut := k[:i] + string(c) + k[i+1:]
				if err := f.Parse(mut); !errors.Is(err, keys.ErrMalformed) {
					t.Fatalf("Parse accepted the key with position %d changed to %q", i, c)
				}
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	f := mustFormat(t, "wk")
	good, _ := f.Generate(nil)
	other, _ := mustFormat(t, "xk").Generate(nil)
	for name, s := range map[string]string{
		"empty":        "",
		"prefix only":  "wk_",
		"other prefix": other,
		"short":        good[:len(good)-1],
		"long":         good + "0",
		"no separator": "wk" + good[3:] + "0",
		"upper prefix": "WK" + good[2:],
		"space":        good[:10] + " " + good[11:],
		"non-ascii":    good[:10] + "é" + good[12:],
	} {
		t.Run(name, func(t *testing.T) {
			if err := f.Parse(s); !errors.Is(err, keys.ErrMalformed) {
				t.Errorf("Parse: got %v; want ErrMalformed", err)
			}
		})
	}
	if err := (keys.Format{}).Parse(good); !errors.Is(err, keys.ErrMalformed) {
		t.Errorf("zero Format Parse: got %v; want ErrMalformed", err)
	}
}

func TestHint(t *testing.T) {
	f := mustFormat(t, "wk")
	k, _ := f.Generate(nil)
	if got, want := f.Hint(k), "wk_…"+k[len(k)-4:]; got != want {
		t.Errorf("Hint = %q; want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	format := mustFormat(f, "wk")
	good, _ := format.Generate(bytes.NewReader(bytes.Repeat([]byte{7, 200, 33, 61}, 100)))
	for _, s := range []string{good, "", "wk_", good[:len(good)-1], "xk" + good[2:], strings.ToUpper(good)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := format.Parse(s)
		if err != nil && !errors.Is(err, keys.ErrMalformed) {
			t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
		}
		if err == nil {
			if len(s) != format.Len() || !strings.HasPrefix(s, "wk_") {
				t.Fatalf("Parse accepted %q of the wrong shape", s)
			}
			// Any single-character change of an accepted key is refused.
			for i := 3; i < len(s); i++ {
				c := byte('0')
				if s[i] == '0' {
					c = '1'
				}
				if format.Parse(s[:i]+string(c)+s[i+1:]) == nil {
					t.Fatalf("Parse accepted %q and a one-character change of it at %d", s, i)
				}
			}
		}
	})
}
