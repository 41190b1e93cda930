package seal

import (
	"fmt"
	"log/slog"
	"strconv"
)

// MinSecretLen is the shortest master secret New accepts, in bytes.
const MinSecretLen = 32

// Key is a versioned master secret. The Sealer never uses it directly: New
// derives one subkey per algorithm from it with HKDF-SHA256 and keeps only
// those. Every ciphertext records the version of the key that sealed it.
//
// Every way of printing a Key (String, fmt verbs, slog, JSON and other
// text encoders) shows its version and "[redacted]" in place of the secret.
type Key struct {
	// Version identifies the key; it is the third byte of every ciphertext
	// sealed with it. It must be 1 to 255 and unique within a Sealer.
	Version byte
	// Secret is the master secret, at least MinSecretLen bytes of high
	// entropy from a secret manager or the environment. (Derive it with
	// argon2id first if it is a human passphrase.) New does not retain it.
	Secret []byte
}

// String returns the key's version and a placeholder for its secret.
func (k Key) String() string {
	return "seal.Key{Version: " + strconv.Itoa(int(k.Version)) + ", Secret: [redacted]}"
}

// GoString returns the same as String, for %#v.
func (k Key) GoString() string { return k.String() }

// Format prints the same as String for every verb.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue returns the key's version and a placeholder for its secret.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("version", int(k.Version)), slog.String("secret", "[redacted]"))
}

// MarshalText returns the same as String, so that JSON and other encoders
// never see the secret.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
