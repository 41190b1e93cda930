package seal

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// Options configures a Sealer. A nil *Options is the zero value.
type Options struct {
	// Algorithm is what Seal seals with. Zero means AES256GCM. Open and
	// Reseal accept either algorithm, whatever this says, so that switching
	// algorithms is a rotation like any other.
	Algorithm Algorithm
}

// Sealer seals and opens secrets under a current key and opens, for
// rotation, what previous keys sealed. Make one with New; it is safe for
// concurrent use, and holds only subkeys, never a master secret.
type Sealer struct {
	alg     Algorithm
	version byte
	// byVersion holds each known version's AEADs, indexed by Algorithm; nil
	// for a version the Sealer does not know.
	byVersion [256]*[len(algorithms) + 1]cipher.AEAD
}

// New returns a Sealer that seals under current and opens what current or
// any of previous sealed. It derives every subkey here, once. It fails if a
// key's version is 0 or repeated, if a secret is shorter than MinSecretLen
// or repeats another key's, or if opts names an unknown algorithm; the
// error names the offending key and field, never a secret.
func New(current Key, previous []Key, opts *Options) (*Sealer, error) {
	s := &Sealer{alg: AES256GCM, version: current.Version}
	if opts != nil && opts.Algorithm != 0 {
		if !opts.Algorithm.valid() {
			return nil, fmt.Errorf("seal: Options.Algorithm %d is unknown", opts.Algorithm)
		}
		s.alg = opts.Algorithm
	}
	seen := make([]Key, 0, 1+len(previous))
	add := func(where string, k Key) error {
		if k.Version == 0 {
			return fmt.Errorf("seal: %s: Key.Version must be 1 to 255", where)
		}
		if len(k.Secret) < MinSecretLen {
			return fmt.Errorf("seal: %s: Key.Secret is %d bytes; need at least %d", where, len(k.Secret), MinSecretLen)
		}
		for _, o := range seen {
			if o.Version == k.Version {
				return fmt.Errorf("seal: %s: Key.Version %d given twice", where, k.Version)
			}
			if subtle.ConstantTimeCompare(o.Secret, k.Secret) == 1 {
				return fmt.Errorf("seal: %s: Key.Secret is the same as version %d's", where, o.Version)
			}
		}
		seen = append(seen, k)
		aeads := new([len(algorithms) + 1]cipher.AEAD)
		for _, a := range algorithms {
			aead, err := a.newAEAD(k)
			if err != nil {
				// An algorithm this process may not use (XChaCha20-Poly1305
				// under GODEBUG=fips140=only) is fatal only if it is the
				// one Seal would use.
				if a == s.alg {
					return fmt.Errorf("seal: %s: deriving the %v subkey: %w", where, a, err)
				}
				continue
			}
			aeads[a] = aead
		}
		s.byVersion[k.Version] = aeads
		return nil
	}
	if err := add("current key", current); err != nil {
		return nil, err
	}
	for i, k := range previous {
		if err := add(fmt.Sprintf("previous[%d]", i), k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Version returns the version of the current key, the one Seal uses.
func (s *Sealer) Version() byte { return s.version }

// Algorithm returns the algorithm Seal uses.
func (s *Sealer) Algorithm() Algorithm { return s.alg }

// Seal encrypts plaintext under the current key and binds the result to
// owner and purpose: Open will refuse it for any other pair. The owner
// should be the stable identifier of what holds the secret (a row's primary
// key, a tenant ID), never a name that can change; the purpose says what the
// secret is for ("openai api key"). Either may be empty, which is a value
// like any other.
//
// Every call draws a fresh random nonce, so sealing one plaintext twice
// yields different ciphertexts. The result is a new slice of
// len(plaintext) + 31 bytes (43 with XChaCha20Poly1305). Seal fails only if
// s was not made by New or plaintext is longer than MaxPlaintext.
func (s *Sealer) Seal(plaintext []byte, owner, purpose string) ([]byte, error) {
	if s == nil || s.byVersion[s.version] == nil {
		return nil, errNotNew
	}
	if uint64(len(plaintext)) > MaxPlaintext {
		return nil, errTooLarge
	}
	aead := s.byVersion[s.version][s.alg]
	out := make([]byte, headerLen, headerLen+aead.Overhead()+len(plaintext))
	out[0], out[1], out[2] = formatV1, byte(s.alg), s.version
	ad := appendAD(make([]byte, 0, adLen(owner, purpose)), out, owner, purpose)
	return aead.Seal(out, nil, plaintext, ad), nil
}

// Open decrypts a ciphertext that Seal made with this Sealer's current key
// or one of its previous keys, for the same owner and purpose. It returns a
// new slice, never one sharing ciphertext's memory; clear it once the
// secret has been used, if the secret is worth it.
//
// Open returns ErrUnknownVersion if the Sealer does not hold the
// ciphertext's key version, and ErrOpen (or an error wrapping it) for every
// other failure.
func (s *Sealer) Open(ciphertext []byte, owner, purpose string) ([]byte, error) {
	aead, err := s.aeadFor(ciphertext)
	if err != nil {
		return nil, err
	}
	ad := appendAD(make([]byte, 0, adLen(owner, purpose)), ciphertext, owner, purpose)
	body := ciphertext[headerLen:]
	out, err := aead.Open(make([]byte, 0, len(body)-aead.Overhead()), nil, body, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// aeadFor checks ciphertext's header and length and returns the AEAD that
// opens it.
func (s *Sealer) aeadFor(ciphertext []byte) (cipher.AEAD, error) {
	if s == nil || s.byVersion[s.version] == nil {
		return nil, errNotNew
	}
	if len(ciphertext) < headerLen {
		return nil, errTruncated
	}
	if ciphertext[0] != formatV1 {
		return nil, errFormat
	}
	alg := Algorithm(ciphertext[1])
	if !alg.valid() {
		return nil, errAlgorithm
	}
	aeads := s.byVersion[ciphertext[2]]
	if aeads == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownVersion, ciphertext[2])
	}
	if aeads[alg] == nil {
		return nil, errUnavailable
	}
	if len(ciphertext) < headerLen+alg.overhead() {
		return nil, errTruncated
	}
	return aeads[alg], nil
}

// Reseal opens ciphertext with whichever key sealed it and, if that was not
// the current key and algorithm, seals the plaintext again under them. It
// reports whether it did: if changed is false, out is ciphertext itself and
// nothing needs writing back. It fails as Open does, so a rotation job that
// reseals every row also finds every row that no longer opens.
func (s *Sealer) Reseal(ciphertext []byte, owner, purpose string) (out []byte, changed bool, err error) {
	plaintext, err := s.Open(ciphertext, owner, purpose)
	if err != nil {
		return nil, false, err
	}
	defer clear(plaintext)
	if Algorithm(ciphertext[1]) == s.alg && ciphertext[2] == s.version {
		return ciphertext, false, nil
	}
	out, err = s.Seal(plaintext, owner, purpose)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
