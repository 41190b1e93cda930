package redact

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
)

// MinPseudonymKeyLen is the shortest key NewPseudonymizer accepts, in bytes.
const MinPseudonymKeyLen = 32

// pseudonymLen is how many bytes of the HMAC a pseudonym keeps: 160 bits,
// 32 base32 characters.
const pseudonymLen = 20

// Pseudonymizer turns identifiers, such as e-mail addresses, into stable
// pseudonyms: "pn_" and 32 lower-case base32 characters of an HMAC-SHA256
// keyed with a secret. The same identifier gives the same pseudonym for as
// long as the key stays the same, so an application can recognise a
// returning sign-up, or count trials per address, without storing the
// address; without the key, a pseudonym cannot be tested against guesses.
// Changing the key changes every pseudonym.
//
// A Pseudonymizer is safe for concurrent use. Printing one shows no key.
type Pseudonymizer struct {
	key Secret // the HMAC key, derived from the application's
	enc *base32.Encoding
}

// NewPseudonymizer returns a Pseudonymizer keyed with key, which must hold
// at least MinPseudonymKeyLen random bytes and stay secret. The HMAC key is
// derived from it with HKDF-SHA256, so that the same application secret may
// serve other purposes too. NewPseudonymizer copies key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinPseudonymKeyLen {
		return nil, errors.New("redact: pseudonym key shorter than 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, key, nil, "wicket redact pseudonym v1", sha256.Size)
	if err != nil {
		return nil, errors.New("redact: deriving the pseudonym key")
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return &Pseudonymizer{key: NewSecret(string(k)), enc: enc}, nil
}

// Of returns the pseudonym of id for purpose. Purpose separates uses
// ("signup-email", "trial-phone"): the same id gives unrelated pseudonyms
// for different purposes. Id is normalised first: surrounding white space
// is trimmed, and an id that contains '@' (an e-mail address) is
// lower-cased whole. Of returns "" for an id that is empty after trimming,
// so that missing identifiers do not share one pseudonym.
func (p *Pseudonymizer) Of(purpose, id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	if strings.Contains(id, "@") {
		id = strings.ToLower(id)
	}
	mac := hmac.New(sha256.New, []byte(p.key.Reveal()))
	// A length prefix keeps (purpose, id) pairs apart: ("a", "bc") and
	// ("ab", "c") hash different messages.
	mac.Write(binary.AppendUvarint(nil, uint64(len(purpose))))
	mac.Write([]byte(purpose))
	mac.Write([]byte(id))
	sum := mac.Sum(nil)
	return "pn_" + p.enc.EncodeToString(sum[:pseudonymLen])
}
