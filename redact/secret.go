package redact

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// placeholder is what every printing of a Secret shows.
const placeholder = "[redacted]"

// Secret holds a credential, such as an upstream provider's API key. Every
// way of printing it (String, fmt verbs, slog, JSON, text and XML encoding)
// yields "[redacted]", and gob refuses to encode it. Only Reveal returns the
// value, at the one place that sends it, and Hint a display form that shows
// at most its last four characters. The zero value is the empty secret.
//
// The value sits behind a pointer, so that a Secret in an unexported struct
// field, which fmt prints by reflection without calling its methods, shows
// as an address rather than as the value. For the same reason, compare
// Secrets with Equal, not ==.
type Secret struct {
	p *string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{p: &s} }

// Reveal returns the secret's value. Call it only where the value is sent.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// Equal reports, in constant time for values of equal length, whether s and
// o hold the same value.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// Hint returns a display form of the secret that an operator can match
// against a provider's console: the vendor prefix of a recognised key shape
// and the last four characters, as "sk-proj-…a1B2" or "wk_…a1B2", or "…a1B2"
// for other values of at least 16 characters. Shorter values show nothing
// but "[redacted]", since four characters would be too large a part of them.
func (s Secret) Hint() string {
	v := s.Reveal()
	if p, ok := (masker{}).keyShape(v); ok && isRun(v) {
		return p + "…" + v[len(v)-4:]
	}
	if len(v) < 16 {
		return placeholder
	}
	return "…" + v[len(v)-4:]
}

// String returns "[redacted]".
func (s Secret) String() string { return placeholder }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return placeholder }

// Format prints "[redacted]" for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(placeholder)) }

// LogValue returns "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(placeholder) }

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + placeholder + `"`), nil }

// MarshalText returns "[redacted]", so that encoders which use it (JSON map
// keys, XML) never see the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(placeholder), nil }
