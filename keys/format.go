package keys

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

	// randomLen base62 characters carry 30·log2(62) ≈ 178 bits.
	randomLen = 30
	// checksumLen base62 characters hold any CRC32 (62^6 > 2^32).
	checksumLen = 6
	// maxPrefixLen bounds the application's prefix.
	maxPrefixLen = 16
	// hintLen is how many trailing characters a display hint shows.
	hintLen = 4
)

// Format describes this application's API keys:
//
//	<prefix>_<30 base62 random characters><6 base62 characters of CRC32>
//
// as GitHub's tokens are built: the prefix tells secret scanners and people
// whose key it is, and the checksum lets Parse refuse typos and garbage
// without touching a store. The zero value is not usable; use NewFormat.
// A Format is immutable and safe for concurrent use.
type Format struct {
	prefix string
}

// NewFormat returns the Format for keys starting with prefix + "_". A prefix
// is 2 to 16 characters of lower-case ASCII letters and digits, starting with
// a letter, such as "wk" or "acme".
func NewFormat(prefix string) (Format, error) {
	if len(prefix) < 2 || len(prefix) > maxPrefixLen {
		return Format{}, fmt.Errorf("%w: key prefix must be 2 to %d characters", ErrInvalid, maxPrefixLen)
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		letter := c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return Format{}, fmt.Errorf("%w: key prefix must be lower-case letters and digits, starting with a letter", ErrInvalid)
		}
	}
	return Format{prefix: prefix}, nil
}

// Prefix returns the prefix without its underscore.
func (f Format) Prefix() string { return f.prefix }

// Len returns the length of every key of this format.
func (f Format) Len() int { return len(f.prefix) + 1 + randomLen + checksumLen }

// Generate returns a new key whose random part is read from r, or from
// crypto/rand when r is nil.
func (f Format) Generate(r io.Reader) (string, error) {
	if f.prefix == "" {
		return "", fmt.Errorf("%w: zero Format", ErrInvalid)
	}
	b := make([]byte, 0, f.Len())
	b = append(b, f.prefix...)
	b = append(b, '_')
	var err error
	if b, err = appendRandom62(b, r, randomLen); err != nil {
		return "", err
	}
	b = appendChecksum(b, crc32.ChecksumIEEE(b))
	return string(b), nil
}

// Parse checks that s is a key of this format: the prefix, the length, the
// alphabet and the checksum. It returns nil or an error wrapping
// ErrMalformed; it never consults a store, and it does not allocate.
func (f Format) Parse(s string) error {
	if f.prefix == "" || len(s) != f.Len() || s[len(f.prefix)] != '_' || s[:len(f.prefix)] != f.prefix {
		return ErrMalformed
	}
	body := s[len(f.prefix)+1:]
	for i := 0; i < len(body); i++ {
		if base62Value(body[i]) < 0 {
			return ErrMalformed
		}
	}
	end := len(s) - checksumLen
	var want uint64
	for i := end; i < len(s); i++ {
		want = want*62 + uint64(base62Value(s[i]))
	}
	if want > 0xFFFFFFFF || uint32(want) != crc32ChecksumString(s[:end]) {
		return ErrMalformed
	}
	return nil
}

// Hint returns the display form of a key of this format: its prefix and its
// last four characters, as "wk_…a1B2". It is what logs and the admin API show.
func (f Format) Hint(key string) string {
	if len(key) < hintLen {
		return f.prefix + "_…"
	}
	return f.prefix + "_…" + key[len(key)-hintLen:]
}

func base62Value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// appendRandom62 appends n uniformly distributed base62 characters read
// from r, rejecting bytes ≥ 248 (= 4·62) so that no character is favoured.
func appendRandom62(b []byte, r io.Reader, n int) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	var buf [64]byte
	for n > 0 {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil, fmt.Errorf("keys: reading randomness: %w", err)
		}
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			b = append(b, base62[c%62])
			if n--; n == 0 {
				break
			}
		}
	}
	return b, nil
}

func appendChecksum(b []byte, sum uint32) []byte {
	var out [checksumLen]byte
	v := uint64(sum)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return append(b, out[:]...)
}

// crc32ChecksumString computes the IEEE CRC32 of s byte by byte from the
// standard table, so that Parse neither converts s nor lets a buffer escape
// into the assembly implementation: it does not allocate.
func crc32ChecksumString(s string) uint32 {
	tab := crc32.IEEETable
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = tab[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}
