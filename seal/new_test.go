package seal_test

import (
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name     string
		current  seal.Key
		previous []seal.Key
		opts     *seal.Options
		want     string // the whole error message
	}{
		{"zero current", seal.Key{}, nil, nil,
			"seal: current key: Key.Version must be 1 to 255"},
		{"short current secret", seal.Key{Version: 1, Secret: make([]byte, 16)}, nil, nil,
			"seal: current key: Key.Secret is 16 bytes; need at least 32"},
		{"nil current secret", seal.Key{Version: 1}, nil, nil,
			"seal: current key: Key.Secret is 0 bytes; need at least 32"},
		{"previous version 0", key(2), []seal.Key{key(1), {Version: 0, Secret: secret(9)}}, nil,
			"seal: previous[1]: Key.Version must be 1 to 255"},
		{"short previous secret", key(2), []seal.Key{{Version: 1, Secret: secret(1)[:31]}}, nil,
			"seal: previous[0]: Key.Secret is 31 bytes; need at least 32"},
		{"previous repeats current version", key(2), []seal.Key{{Version: 2, Secret: secret(9)}}, nil,
			"seal: previous[0]: Key.Version 2 given twice"},
		{"previous repeat each other", key(3), []seal.Key{key(1), {Version: 1, Secret: secret(9)}}, nil,
			"seal: previous[1]: Key.Version 1 given twice"},
		{"secret reused across versions", key(2), []seal.Key{{Version: 1, Secret: key(2).Secret}}, nil,
			"seal: previous[0]: Key.Secret is the same as version 2's"},
		{"unknown algorithm", key(1), nil, &seal.Options{Algorithm: 9},
			"seal: Options.Algorithm 9 is unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := seal.New(c.current, c.previous, c.opts)
			if err == nil {
				t.Fatalf("New succeeded; want %q", c.want)
			}
			if s != nil {
				t.Error("New returned a Sealer with its error")
			}
			if err.Error() != c.want {
				t.Errorf("got %q; want %q", err, c.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	for _, opts := range []*seal.Options{nil, {}, {Algorithm: seal.AES256GCM}} {
		s, err := seal.New(key(5), nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.Algorithm() != seal.AES256GCM || s.Version() != 5 {
			t.Errorf("opts %+v: Algorithm, Version = %v, %d; want AES-256-GCM, 5", opts, s.Algorithm(), s.Version())
		}
	}
	s := mustNew(t, seal.Key{Version: 255, Secret: make([]byte, 64)}, nil, seal.XChaCha20Poly1305)
	if s.Algorithm() != seal.XChaCha20Poly1305 || s.Version() != 255 {
		t.Errorf("Algorithm, Version = %v, %d; want XChaCha20-Poly1305, 255", s.Algorithm(), s.Version())
	}
}

func TestNewDoesNotRetainSecret(t *testing.T) {
	k := seal.Key{Version: 1, Secret: secret(3)}
	s := mustNew(t, k, nil, 0)
	ct := mustSeal(t, s, []byte("x"), "o", "p")
	clear(k.Secret) // the caller wipes its copy
	if pt, err := s.Open(ct, "o", "p"); err != nil || string(pt) != "x" {
		t.Errorf("Open after the caller cleared its secret = %q, %v", pt, err)
	}
}

func TestAlgorithmString(t *testing.T) {
	for a, want := range map[seal.Algorithm]string{
		seal.AES256GCM: "AES-256-GCM", seal.XChaCha20Poly1305: "XChaCha20-Poly1305", 0: "Algorithm(0)", 7: "Algorithm(7)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Algorithm(%d).String() = %q; want %q", a, got, want)
		}
	}
}
