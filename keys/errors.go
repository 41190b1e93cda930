package keys

import (
	"errors"
	"net/http"
)

// Errors returned by Parse, Verify and the Manager. Callers branch on them
// with errors.Is. None of them, nor any error this package wraps around
// them, carries key material or a digest.
var (
	// ErrMissing means the request carried no API key.
	ErrMissing = errors.New("keys: missing API key")
	// ErrMalformed means the key is not of this application's format:
	// wrong prefix, length, alphabet or checksum. No store was consulted.
	ErrMalformed = errors.New("keys: malformed API key")
	// ErrUnknown means the key is well formed but no store holds it.
	ErrUnknown = errors.New("keys: unknown API key")
	// ErrRevoked means the key was revoked.
	ErrRevoked = errors.New("keys: API key revoked")
	// ErrExpired means the key's expiry, or its rotation grace period, has passed.
	ErrExpired = errors.New("keys: API key expired")
	// ErrSuspended means the key is suspended (Manager.Suspend): held out
	// of use, pending review or until its suspension lapses.
	ErrSuspended = errors.New("keys: API key suspended")
	// ErrForbidden means the key is valid but may not be used this way: from
	// this client IP, on this endpoint, for this model, or for this admin action.
	ErrForbidden = errors.New("keys: forbidden")
	// ErrNotFound is returned by a Store when no record matches, and by the
	// Manager when a key ID does not exist (or belongs to another owner).
	ErrNotFound = errors.New("keys: not found")
	// ErrExists is returned by Store.Create when the ID or digest is taken.
	ErrExists = errors.New("keys: already exists")
	// ErrInvalid means an argument, such as a Spec field, failed validation.
	ErrInvalid = errors.New("keys: invalid argument")
	// ErrThrottled means the client address failed to authenticate too
	// often and is blocked for a while (see Throttle). The middleware
	// returns it wrapped in a *ThrottledError, which says for how long.
	ErrThrottled = errors.New("keys: too many failed authentications")
)

// StatusCode returns the HTTP status that fits an error from Verify or the
// middleware: 401 for a missing, malformed, unknown, revoked or expired key,
// 403 for a forbidden use or a suspended key, 429 for a throttled client address, 400 for an
// invalid argument, 404 for not found and 503 for anything else (a store
// failure, say).
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrMissing), errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknown),
		errors.Is(err, ErrRevoked), errors.Is(err, ErrExpired):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrSuspended):
		return http.StatusForbidden
	case errors.Is(err, ErrThrottled):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrExists):
		return http.StatusConflict
	default:
		return http.StatusServiceUnavailable
	}
}

// ForbiddenError refuses a verified key for where it was used from or what
// it asked: its IP allowlist or its endpoint scopes. It wraps ErrForbidden
// and names the key by its public ID (never the key), so that a caller can
// count a key's refusals (package abuse) without looking it up again.
type ForbiddenError struct {
	KeyID string // the refused key's ID
	Why   string // what was not allowed, such as "client IP not allowed for this key"
}

func (e *ForbiddenError) Error() string { return ErrForbidden.Error() + ": " + e.Why }

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }
