package keys

import (
	"fmt"
	"net/http"
	"strings"
)

// Source says where in a request a key was found.
type Source uint8

// Sources, in the order ExtractKey looks.
const (
	SourceNone          Source = iota
	SourceAuthorization        // Authorization: Bearer <key> (OpenAI)
	SourceXAPIKey              // x-api-key: <key> (Anthropic)
	SourceXGoogAPIKey          // x-goog-api-key: <key> (Gemini)
	SourceQuery                // ?key=<key> (Gemini)
)

// String returns the source's header or parameter name.
func (s Source) String() string {
	switch s {
	case SourceAuthorization:
		return "authorization"
	case SourceXAPIKey:
		return "x-api-key"
	case SourceXGoogAPIKey:
		return "x-goog-api-key"
	case SourceQuery:
		return "query"
	}
	return "none"
}

// maxKeyLen bounds what ExtractKey returns; no key of any format is longer.
const maxKeyLen = 256

// ExtractKey finds the API key in a request: the Authorization header with
// the Bearer scheme (any case), x-api-key, x-goog-api-key, then the "key"
// query parameter. Surrounding spaces are trimmed. It returns ErrMissing if
// there is none, and ErrMalformed if places disagree, a header is repeated,
// the Authorization scheme is not Bearer, or the value is implausible. The
// errors never contain the value.
func ExtractKey(r *http.Request) (string, Source, error) {
	var key string
	src := SourceNone
	take := func(v string, s Source) error {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > maxKeyLen || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return fmt.Errorf("%w: unusable %s value", ErrMalformed, s)
		}
		if src != SourceNone && v != key {
			return fmt.Errorf("%w: %s and %s carry different keys", ErrMalformed, src, s)
		}
		if src == SourceNone {
			key, src = v, s
		}
		return nil
	}
	header := func(name string, s Source, fn func(string) (string, error)) error {
		vs := r.Header.Values(name)
		switch len(vs) {
		case 0:
			return nil
		case 1:
		default:
			return fmt.Errorf("%w: repeated %s header", ErrMalformed, s)
		}
		v, err := fn(vs[0])
		if err != nil {
			return err
		}
		return take(v, s)
	}
	plain := func(v string) (string, error) { return v, nil }
	bearer := func(v string) (string, error) {
		v = strings.TrimSpace(v)
		scheme, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			return "", fmt.Errorf("%w: authorization scheme must be Bearer", ErrMalformed)
		}
		return rest, nil
	}
	if err := header("Authorization", SourceAuthorization, bearer); err != nil {
		return "", SourceNone, err
	}
	if err := header("X-Api-Key", SourceXAPIKey, plain); err != nil {
		return "", SourceNone, err
	}
	if err := header("X-Goog-Api-Key", SourceXGoogAPIKey, plain); err != nil {
		return "", SourceNone, err
	}
	if r.URL != nil && strings.Contains(r.URL.RawQuery, "key=") {
		vs := r.URL.Query()["key"]
		if len(vs) > 1 {
			return "", SourceNone, fmt.Errorf("%w: repeated key parameter", ErrMalformed)
		}
		if len(vs) == 1 {
			if err := take(vs[0], SourceQuery); err != nil {
				return "", SourceNone, err
			}
		}
	}
	if src == SourceNone {
		return "", SourceNone, ErrMissing
	}
	return key, src, nil
}
