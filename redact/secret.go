package redact

import (
	"fmt"
	"log/slog"
)

// placeholder is what every printing of a Secret shows.
const placeholder = "[redacted]"

// Secret holds a credential, such as an upstream provider's API key. Every
// way of printing it (String, fmt verbs, slog, JSON, text marshaling)
// yields "[redacted]"; only Reveal returns the value, at the one place that
// sends it. The zero value is the empty secret.
type Secret struct {
	value string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{value: s} }

// Reveal returns the secret's value. Call it only where the value is sent.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "[redacted]".
func (s Secret) String() string { return placeholder }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return placeholder }

// Format prints "[redacted]" for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(placeholder)) }

// LogValue returns "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(placeholder) }

// MarshalText returns "[redacted]", so JSON and other encoders never see the
// value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(placeholder), nil }
