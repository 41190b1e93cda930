package keys

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"sync"
)

// MinSecretLen is the shortest master secret NewHasher accepts, in bytes.
const MinSecretLen = 32

// Pepper is a versioned master secret from which the Hasher derives the
// HMAC key for API-key digests. Keep the secret outside the key store (an
// environment variable, a secret manager): a stolen store without it yields
// no usable digests. To rotate, make the new secret current with a higher
// version and keep the old one among the previous peppers until every key
// has been seen once (verification rehashes it) or retired.
type Pepper struct {
	// Version identifies the pepper; it is stored with every digest. It
	// must be positive and unique within a Hasher.
	Version uint32
	// Secret is the master secret, at least MinSecretLen bytes of high
	// entropy. (Derive it with argon2id first if it is a human passphrase.)
	Secret []byte
}

// Digest is the HMAC-SHA256 of an API key: what stores index and keep
// instead of the key. Its String, Format and LogValue methods print a fixed
// placeholder so that it never reaches a log by accident; MarshalText and
// UnmarshalText use hex for stores that serialize records.
type Digest [sha256.Size]byte

// Equal reports whether d and e are equal, in constant time.
func (d Digest) Equal(e Digest) bool { return subtle.ConstantTimeCompare(d[:], e[:]) == 1 }

// IsZero reports whether d is the zero digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns a placeholder, never the digest.
func (d Digest) String() string { return "[digest]" }

// Format prints a placeholder for every verb, never the digest.
func (d Digest) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[digest]")) }

// LogValue returns a placeholder, never the digest.
func (d Digest) LogValue() slog.Value { return slog.StringValue("[digest]") }

// MarshalText encodes the digest as hex, for stores.
func (d Digest) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, d[:]), nil }

// UnmarshalText decodes a hex digest.
func (d *Digest) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(d) {
		return fmt.Errorf("%w: digest must be %d hex characters", ErrInvalid, 2*len(d))
	}
	_, err := hex.Decode(d[:], b)
	if err != nil {
		return fmt.Errorf("%w: digest is not hex", ErrInvalid)
	}
	return nil
}

// Hasher computes key digests with the current pepper and, for keys stored
// before a rotation, with previous ones. It is safe for concurrent use and
// does not allocate per digest.
type Hasher struct {
	current  *macPool
	previous []*macPool
}

type macPool struct {
	version uint32
	pool    sync.Pool // of *macState
}

type macState struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// NewHasher returns a Hasher whose current pepper is current; previous
// peppers are tried, newest first, for keys not found under the current one.
func NewHasher(current Pepper, previous ...Pepper) (*Hasher, error) {
	seen := map[uint32]bool{}
	mk := func(p Pepper) (*macPool, error) {
		if p.Version == 0 {
			return nil, fmt.Errorf("%w: pepper version must be positive", ErrInvalid)
		}
		if seen[p.Version] {
			return nil, fmt.Errorf("%w: pepper version %d given twice", ErrInvalid, p.Version)
		}
		seen[p.Version] = true
		if len(p.Secret) < MinSecretLen {
			return nil, fmt.Errorf("%w: pepper %d secret shorter than %d bytes", ErrInvalid, p.Version, MinSecretLen)
		}
		key, err := hkdf.Key(sha256.New, p.Secret, nil, "wicket keys pepper v"+strconv.FormatUint(uint64(p.Version), 10), sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("keys: deriving pepper: %w", err)
		}
		mp := &macPool{version: p.Version}
		mp.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 128)} }
		return mp, nil
	}
	h := &Hasher{}
	var err error
	if h.current, err = mk(current); err != nil {
		return nil, err
	}
	for _, p := range previous {
		mp, err := mk(p)
		if err != nil {
			return nil, err
		}
		h.previous = append(h.previous, mp)
	}
	return h, nil
}

// Version returns the current pepper's version.
func (h *Hasher) Version() uint32 { return h.current.version }

// Digest returns the digest of key under the current pepper.
func (h *Hasher) Digest(key string) Digest { return h.current.digest(key) }

func (p *macPool) digest(key string) Digest {
	s := p.pool.Get().(*macState)
	s.buf = append(s.buf[:0], key...)
	s.mac.Reset()
	s.mac.Write(s.buf)
	s.mac.Sum(s.sum[:0])
	d := Digest(s.sum)
	clear(s.buf)
	p.pool.Put(s)
	return d
}
