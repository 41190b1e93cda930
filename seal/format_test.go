package seal_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/wicket-gw/wicket/seal"
)

// specAEAD builds, from the standard primitives and the format as doc.go
// describes it, the AEAD for algorithm a under k, with an explicit nonce.
func specAEAD(t *testing.T, a seal.Algorithm, k seal.Key) cipher.AEAD {
	t.Helper()
	info := map[seal.Algorithm]string{
		seal.AES256GCM:         "wicket/seal format 1 AES-256-GCM key version ",
		seal.XChaCha20Poly1305: "wicket/seal format 1 XChaCha20-Poly1305 key version ",
	}[a]
	sub, err := hkdf.Key(sha256.New, k.Secret, nil, info+strconv.Itoa(int(k.Version)), 32)
	if err != nil {
		t.Fatal(err)
	}
	if a == seal.XChaCha20Poly1305 {
		x, err := chacha20poly1305.NewX(sub)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm
}

func specAD(header []byte, owner, purpose string) []byte {
	ad := append([]byte{}, header...)
	ad = binary.AppendUvarint(ad, uint64(len(owner)))
	ad = append(ad, owner...)
	ad = binary.AppendUvarint(ad, uint64(len(purpose)))
	return append(ad, purpose...)
}

// TestFormatMatchesSpec pins the wire format, the HKDF labels and the
// additional data: a ciphertext built independently from the documented
// format opens, and what Seal makes opens with the independent build. A
// change to any of them breaks every stored ciphertext, and this test.
func TestFormatMatchesSpec(t *testing.T) {
	k := seal.Key{Version: 4, Secret: secret(0x5c)}
	const owner, purpose, plaintext = "row-17", "anthropic api key", "sk-ant-api03-abc"
	for _, alg := range algs {
		t.Run(alg.String(), func(t *testing.T) {
			s := mustNew(t, k, nil, alg)
			aead := specAEAD(t, alg, k)
			header := []byte{1, byte(alg), 4}
			ad := specAD(header, owner, purpose)

			nonce := bytes.Repeat([]byte{0x11}, aead.NonceSize())
			built := aead.Seal(append(bytes.Clone(header), nonce...), nonce, []byte(plaintext), ad)
			pt, err := s.Open(built, owner, purpose)
			if err != nil || string(pt) != plaintext {
				t.Fatalf("Open of an independently built ciphertext = %q, %v", pt, err)
			}

			ct := mustSeal(t, s, []byte(plaintext), owner, purpose)
			if !bytes.Equal(ct[:3], header) {
				t.Fatalf("header = %v; want %v", ct[:3], header)
			}
			n := aead.NonceSize()
			pt, err = aead.Open(nil, ct[3:3+n], ct[3+n:], ad)
			if err != nil || string(pt) != plaintext {
				t.Fatalf("independent Open of Seal's output = %q, %v", pt, err)
			}
		})
	}
}
