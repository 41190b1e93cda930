package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

// secret returns a distinct master secret for each b.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, seal.MinSecretLen) }

func key(v byte) seal.Key { return seal.Key{Version: v, Secret: secret(0xa0 + v)} }

var algs = []seal.Algorithm{seal.AES256GCM, seal.XChaCha20Poly1305}

func mustNew(tb testing.TB, current seal.Key, previous []seal.Key, alg seal.Algorithm) *seal.Sealer {
	tb.Helper()
	s, err := seal.New(current, previous, &seal.Options{Algorithm: alg})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func mustSeal(tb testing.TB, s *seal.Sealer, plaintext []byte, owner, purpose string) []byte {
	tb.Helper()
	ct, err := s.Seal(plaintext, owner, purpose)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return ct
}

// overhead is what each algorithm adds to a plaintext: 3-byte header,
// nonce and tag.
func overhead(a seal.Algorithm) int {
	if a == seal.XChaCha20Poly1305 {
		return 3 + 24 + 16
	}
	return 3 + 12 + 16
}

// wantOpenErr fails unless err is ErrOpen (or wraps it).
func wantOpenErr(tb testing.TB, what string, err error) {
	tb.Helper()
	if !errors.Is(err, seal.ErrOpen) {
		tb.Errorf("%s: got error %v; want ErrOpen", what, err)
	}
}
