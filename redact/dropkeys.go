package redact

import (
	"log/slog"
	"strings"
)

// DefaultDropKeys returns the attribute keys that a Handler drops unless
// HandlerOptions.KeepKeys names them. They are the headers that carry
// credentials:
//
//	authorization, proxy-authorization, x-api-key, x-goog-api-key, api-key,
//	cookie, set-cookie
//
// other names of credentials:
//
//	password, passwd, secret, client-secret, token, access-token,
//	refresh-token, id-token, private-key
//
// and the names under which the dialects and OpenTelemetry's GenAI
// conventions carry content:
//
//	messages, prompt, input, content, contents, system, instructions, body,
//	request-body, response-body, text, completion, output, choices,
//	candidates
//
// A content key whose value is a number, a bool, a duration or a time is
// kept, since such a value holds no content: a group "tokens" with "input"
// and "output" counts survives. Credential keys, and the keys of
// HandlerOptions.DropKeys, are dropped whatever their value.
//
// Keys match without regard to case, '-' and '_' ("API_KEY", "apiKey" and
// "x-api-key" all match their entries), and a dotted key also matches by its
// last part ("http.request.header.authorization", "gen_ai.prompt"). Each
// call returns a new slice.
func DefaultDropKeys() []string {
	return append(credentialKeys(), contentKeys()...)
}

func credentialKeys() []string {
	return []string{
		"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key",
		"cookie", "set-cookie",
		"password", "passwd", "secret", "client-secret", "token", "access-token",
		"refresh-token", "id-token", "private-key",
	}
}

func contentKeys() []string {
	return []string{
		"messages", "prompt", "input", "content", "contents", "system", "instructions", "body",
		"request-body", "response-body", "text", "completion", "output", "choices",
		"candidates",
	}
}

// dropRule says when an attribute with a listed key is dropped.
type dropRule uint8

const (
	keep        dropRule = iota // not listed
	dropAlways                  // a credential, or the application's key
	dropContent                 // dropped unless its value cannot hold content
)

// keySet maps attribute keys in normal form to their dropRule.
type keySet struct {
	keys map[string]dropRule
	// shapes has bit n of shapes[c] set if a key of normal length n
	// starts with byte c; it spares most lookups a map access.
	shapes [256]uint64
}

// newKeySet returns the default keys, less keep, plus drop.
func newKeySet(drop, keep []string) *keySet {
	set := &keySet{keys: map[string]dropRule{}}
	for _, k := range credentialKeys() {
		set.keys[normalKey(k)] = dropAlways
	}
	for _, k := range contentKeys() {
		set.keys[normalKey(k)] = dropContent
	}
	for _, k := range keep {
		delete(set.keys, normalKey(k))
	}
	for _, k := range drop {
		if n := normalKey(k); n != "" {
			set.keys[n] = dropAlways
		}
	}
	for k := range set.keys {
		set.shapes[k[0]] |= 1 << min(len(k), 63)
	}
	return set
}

// drops reports whether an attribute with key and the resolved value v is
// dropped.
func (s *keySet) drops(key string, v slog.Value) bool {
	switch s.rule(key) {
	case dropAlways:
		return true
	case dropContent:
		switch v.Kind() {
		case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
			return false
		}
		return true
	}
	return false
}

// rule returns the rule for key, or for the part of a dotted key after its
// last dot. It does not allocate for keys of up to 64 bytes.
func (s *keySet) rule(key string) dropRule {
	if key == "" {
		return keep
	}
	if r := s.ruleWhole(key); r != keep {
		return r
	}
	if dot := strings.LastIndexByte(key, '.'); dot >= 0 {
		return s.ruleWhole(key[dot+1:])
	}
	return keep
}

func (s *keySet) ruleWhole(key string) dropRule {
	n, first := 0, byte(0)
	for i := 0; i < len(key); i++ {
		if c := key[i]; c != '-' && c != '_' {
			if n == 0 {
				first = lower(c)
			}
			n++
		}
	}
	if n == 0 || s.shapes[first]&(1<<min(n, 63)) == 0 {
		return keep
	}
	var buf [64]byte
	return s.keys[string(appendNormalKey(buf[:0], key))]
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// normalKey lower-cases ASCII letters and drops '-' and '_'.
func normalKey(k string) string { return string(appendNormalKey(nil, k)) }

func appendNormalKey(dst []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c != '-' && c != '_' {
			dst = append(dst, lower(c))
		}
	}
	return dst
}
