package redisstore

// ParseInvalidation exposes the parser of the revocation channel's
// messages to the tests of package redisstore_test: the generation and
// count of a counted message, whether it was counted, its digest in hex,
// and whether it is well formed.
func ParseInvalidation(payload string) (gen string, n uint64, counted bool, digest string, ok bool) {
	e, counted, d, ok := parseInvalidation(payload)
	if !ok {
		return "", 0, false, "", false
	}
	text, _ := d.MarshalText()
	return e.gen, e.n, counted, string(text), true
}
