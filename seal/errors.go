package seal

import (
	"errors"
	"fmt"
)

// Errors returned by Open, Reseal and OpenSecret. Callers branch on them with
// errors.Is. No error of this package carries a plaintext, a key, an owner or
// a purpose.
var (
	// ErrOpen means the ciphertext cannot be opened: it was altered,
	// truncated, sealed for another owner or purpose, or sealed under another
	// secret with the same version. Every failure that depends on secret
	// state is this one error, so that a caller cannot tell a wrong owner
	// from a flipped bit. Failures that depend only on the ciphertext's
	// public header (too short, unknown format or algorithm) wrap it with a
	// note.
	ErrOpen = errors.New("seal: message authentication failed")
	// ErrUnknownVersion means the ciphertext names a key version that the
	// Sealer does not hold: the key was dropped before every ciphertext had
	// been resealed, or the ciphertext comes from elsewhere. The version
	// byte is public, so this error gives nothing away.
	ErrUnknownVersion = errors.New("seal: unknown key version")
)

// Notes on public-header failures; each wraps ErrOpen.
var (
	errTruncated   = fmt.Errorf("%w: ciphertext truncated", ErrOpen)
	errFormat      = fmt.Errorf("%w: unknown format", ErrOpen)
	errAlgorithm   = fmt.Errorf("%w: unknown algorithm", ErrOpen)
	errUnavailable = fmt.Errorf("%w: algorithm not available in this process", ErrOpen)
)

// errNotNew is returned by a Sealer that New did not make.
var errNotNew = errors.New("seal: Sealer not made by New")

// errTooLarge is returned by Seal for a plaintext beyond MaxPlaintext.
var errTooLarge = fmt.Errorf("seal: plaintext longer than %d bytes", uint64(MaxPlaintext))
