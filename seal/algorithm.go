package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"
)

// Algorithm is an AEAD with which a Sealer seals. Its value is the second
// byte of every ciphertext.
type Algorithm uint8

const (
	// AES256GCM is AES-256 in Galois/Counter Mode with a random 96-bit nonce,
	// from the standard library (hardware-accelerated on most servers, FIPS
	// 140-3 approved). A key version should seal at most 2^32 messages;
	// rotate long before.
	AES256GCM Algorithm = 1
	// XChaCha20Poly1305 is XChaCha20-Poly1305 with a random 192-bit nonce,
	// from golang.org/x/crypto: fast without AES instructions and without a
	// practical limit on the number of messages per key. It is not FIPS
	// approved, and is unavailable when GODEBUG=fips140=only.
	XChaCha20Poly1305 Algorithm = 2
)

// algorithms lists every Algorithm, for New to derive a subkey for each.
var algorithms = [...]Algorithm{AES256GCM, XChaCha20Poly1305}

// String returns the algorithm's usual name, or "Algorithm(n)" if unknown.
func (a Algorithm) String() string {
	switch a {
	case AES256GCM:
		return "AES-256-GCM"
	case XChaCha20Poly1305:
		return "XChaCha20-Poly1305"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

func (a Algorithm) valid() bool { return a == AES256GCM || a == XChaCha20Poly1305 }

// overhead is how many bytes the algorithm adds to a plaintext: its nonce
// and its tag.
func (a Algorithm) overhead() int {
	if a == XChaCha20Poly1305 {
		return chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	}
	return 12 + 16
}

// info is the HKDF context of the subkey for algorithm a under key version
// v. It names the package, the wire format, the algorithm and the version,
// so that no two uses of one master secret (another version, another
// algorithm, the keys package's pepper) share a subkey.
func (a Algorithm) info(v byte) string {
	return "wicket/seal format " + strconv.Itoa(formatV1) + " " + a.String() + " key version " + strconv.Itoa(int(v))
}

// newAEAD derives a's subkey for k and returns an AEAD over it that draws a
// random nonce on every Seal and prepends it to the ciphertext (so its
// NonceSize is 0).
func (a Algorithm) newAEAD(k Key) (cipher.AEAD, error) {
	sub, err := hkdf.Key(sha256.New, k.Secret, nil, a.info(k.Version), 32)
	if err != nil {
		return nil, err
	}
	defer clear(sub)
	if a == XChaCha20Poly1305 {
		x, err := chacha20poly1305.NewX(sub)
		if err != nil {
			return nil, err
		}
		return randomNonceX{x}, nil
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// randomNonceX gives XChaCha20-Poly1305 the shape of
// cipher.NewGCMWithRandomNonce: a random nonce, drawn by Seal and prepended
// to its output, read back by Open.
type randomNonceX struct{ aead cipher.AEAD }

const nonceX = chacha20poly1305.NonceSizeX

func (randomNonceX) NonceSize() int { return 0 }

func (randomNonceX) Overhead() int { return nonceX + chacha20poly1305.Overhead }

func (x randomNonceX) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != 0 {
		panic("seal: nonce given to a random-nonce AEAD")
	}
	n := len(dst)
	dst = slices.Grow(dst, nonceX+len(plaintext)+chacha20poly1305.Overhead)[:n+nonceX]
	rand.Read(dst[n:]) // never fails: it crashes the program instead
	return x.aead.Seal(dst, dst[n:], plaintext, additionalData)
}

func (x randomNonceX) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != 0 {
		panic("seal: nonce given to a random-nonce AEAD")
	}
	if len(ciphertext) < nonceX+chacha20poly1305.Overhead {
		return nil, ErrOpen
	}
	return x.aead.Open(dst, ciphertext[:nonceX], ciphertext[nonceX:], additionalData)
}
