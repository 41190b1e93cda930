package seal_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

// FuzzOpen checks three things. Arbitrary bytes never panic Open, fail only
// with ErrOpen or ErrUnknownVersion, and open only if they are a seed
// ciphertext presented with its own owner and purpose (never under a
// Sealer with other secrets). Any plaintext, owner and purpose round-trip
// under both algorithms. And that ciphertext with any one byte changed,
// cut short or opened for another owner fails.
func FuzzOpen(f *testing.F) {
	const seedOwner, seedPurpose = "tenant-1", "openai api key"
	seedPlaintexts := [][]byte{nil, []byte("sk-live-0123456789"), bytes.Repeat([]byte{0xff}, 100)}

	current, previous := key(2), []seal.Key{key(1)}
	byAlg := map[seal.Algorithm]*seal.Sealer{}
	for _, alg := range algs {
		byAlg[alg] = mustNew(f, current, previous, alg)
	}
	old := mustNew(f, key(1), nil, 0)
	// Same versions, other secrets: must never open anything the above sealed.
	stranger := mustNew(f, seal.Key{Version: 2, Secret: secret(0x01)}, []seal.Key{{Version: 1, Secret: secret(0x02)}}, 0)

	for _, pt := range seedPlaintexts {
		for _, s := range []*seal.Sealer{byAlg[seal.AES256GCM], byAlg[seal.XChaCha20Poly1305], old} {
			ct := mustSeal(f, s, pt, seedOwner, seedPurpose)
			f.Add(ct, seedOwner, seedPurpose, uint16(len(ct)/2), byte(1))
			f.Add(ct, seedOwner+"x", seedPurpose, uint16(0), byte(0x80))
			f.Add(ct, "tenant-", "1"+seedPurpose, uint16(2), byte(3))
		}
	}
	f.Add([]byte{}, "", "", uint16(0), byte(0))
	f.Add([]byte{1, 1, 2}, "o", "p", uint16(1), byte(0xff))
	f.Add([]byte{1, 2, 1, 0, 0, 0}, "o", "p", uint16(5), byte(0x10))
	f.Add(bytes.Repeat([]byte{1}, 64), "o", "p", uint16(63), byte(1))

	s := byAlg[seal.AES256GCM]
	f.Fuzz(func(t *testing.T, data []byte, owner, purpose string, pos uint16, mask byte) {
		// Arbitrary bytes.
		pt, err := s.Open(data, owner, purpose)
		if err != nil {
			if !errors.Is(err, seal.ErrOpen) && !errors.Is(err, seal.ErrUnknownVersion) {
				t.Fatalf("Open failed with %v; want ErrOpen or ErrUnknownVersion", err)
			}
			if pt != nil {
				t.Fatalf("Open returned %d bytes with its error", len(pt))
			}
		} else {
			if owner != seedOwner || purpose != seedPurpose ||
				!slices.ContainsFunc(seedPlaintexts, func(p []byte) bool { return bytes.Equal(p, pt) }) {
				t.Fatalf("Open(%x, %q, %q) = %x; no such thing was sealed", data, owner, purpose, pt)
			}
		}
		if pt, err := stranger.Open(data, owner, purpose); err == nil {
			t.Fatalf("a Sealer with other secrets opened %x as %x", data, pt)
		}

		// Round trip of the input as a plaintext, then mutations of it.
		for _, alg := range algs {
			ct, err := byAlg[alg].Seal(data, owner, purpose)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Open(ct, owner, purpose)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%v round trip = %x, %v; want %x", alg, got, err, data)
			}
			m := mask
			if m == 0 {
				m = 1
			}
			i := int(pos) % len(ct)
			bad := bytes.Clone(ct)
			bad[i] ^= m
			if got, err := s.Open(bad, owner, purpose); err == nil {
				t.Fatalf("%v: byte %d ^ %#x opened as %x", alg, i, m, got)
			}
			if got, err := s.Open(ct[:i], owner, purpose); err == nil {
				t.Fatalf("%v: first %d bytes opened as %x", alg, i, got)
			}
			if got, err := s.Open(ct, owner+"\x00", purpose); err == nil {
				t.Fatalf("%v: opened for another owner as %x", alg, got)
			}
			if got, err := s.Open(ct, owner, purpose+"\x00"); err == nil {
				t.Fatalf("%v: opened for another purpose as %x", alg, got)
			}
		}
	})
}
