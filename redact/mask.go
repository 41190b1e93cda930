package redact

import (
	"encoding/base64"
	"strings"
)

// Mask returns s with every credential it recognises replaced:
//
//   - API keys of known shapes keep their vendor prefix and last four
//     characters: "sk-proj-…a1B2", "sk-ant-…a1B2", "AIza…a1B2", "AKIA…a1B2",
//     "ghp_…a1B2", "ya29.…a1B2", and so on for the OpenAI, Anthropic,
//     Google, AWS, GitHub, GitLab, Groq, xAI, Hugging Face, Perplexity,
//     Replicate, NVIDIA, Slack and Stripe formats; so do keys of this
//     module's format,
//     <prefix>_<36 base62 characters> ("wk_…a1B2"), and fragments of at
//     least 12 characters after the default prefix "wk_";
//   - JSON Web Tokens become "[redacted jwt]";
//   - "Bearer <token>" becomes "Bearer [redacted]" if the token has at
//     least 8 characters and does not read as a word ("Bearer token"
//     stays), and "Basic <base64 of user:password>" "Basic [redacted]";
//   - the value after a credential label, as in "x-api-key: …",
//     "Authorization: Token …", `"api_key":"…"`, "Cookie: …" or
//     "OPENAI_API_KEY=…", becomes "[redacted]", whatever its length (an
//     authentication scheme before it stays);
//   - the value of a URL query parameter named key, token, sig, signature,
//     password, secret, auth, code, or ending in one of these (api_key,
//     access_token, X-Amz-Signature…), becomes "[redacted]";
//   - the user information of a URL becomes "[redacted]", as in
//     "https://[redacted]@host/".
//
// A key is recognised only as a whole word: "task-sk-…" is not a key. Keys
// without a distinctive shape (such as 32 hexadecimal characters) are found
// only after a label. Mask returns s itself, without allocating, when it
// finds nothing, and Mask(Mask(s)) == Mask(s).
func Mask(s string) string {
	out, _ := masker{}.mask(s, false)
	return out
}

// jwtPlaceholder replaces a JSON Web Token.
const jwtPlaceholder = "[redacted jwt]"

// hintLen is how many trailing characters of a key a hint shows.
const hintLen = 4

// masker finds credentials in text. Its zero value masks the fragments of
// keys with the default prefix "wk".
type masker struct {
	// prefixes are the application's key prefixes, without the
	// underscore; nil means {"wk"}.
	prefixes []string
}

// mask returns s with credentials replaced, and whether it changed
// anything. With strip, the query and fragment of every absolute URL are
// removed as well.
func (m masker) mask(s string, strip bool) (string, bool) {
	w := rewriter{s: s}
	cutFrom, cutTo, urlEnd := -1, -1, 0
	for i := 0; i < len(s); {
		if cutFrom >= 0 && i >= cutFrom {
			if i < cutTo {
				w.replace(i, cutTo, "")
				i = cutTo
			}
			cutFrom = -1
			continue
		}
		c := s[i]
		switch {
		case isAlnum(c):
			j := runEnd(s, i)
			if wordStart(s, i) {
				i = m.token(&w, i, j)
			} else {
				i = j
			}
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 3
		case c == '?' || c == '&':
			i = param(&w, i)
		case c == ':' && strings.HasPrefix(s[i:], "://"):
			next, host := userinfo(&w, i)
			if strip && i >= urlEnd {
				// A "://" inside a URL already measured shares its end,
				// and its query, if any, is in that URL's.
				var q int
				q, urlEnd = urlQuery(s, host)
				if q >= 0 {
					cutFrom, cutTo = q, urlEnd
				}
			}
			i = next
		default:
			i++
		}
	}
	return w.result()
}

// token looks at the word s[i:j], a run of [A-Za-z0-9_-] that starts a word,
// and masks what it recognises there. It returns where to go on scanning.
func (m masker) token(w *rewriter, i, j int) int {
	s := w.s
	tok := s[i:j]
	if n, ok := label(w, i, j); ok {
		return n
	}
	if n, ok := scheme(w, i, j); ok {
		return n
	}
	if n, ok := jwt(w, i, j); ok {
		return n
	}
	if tok == "ya29" && j < len(s) && s[j] == '.' {
		// A Google OAuth access token: "ya29." and a long run that may
		// hold dots.
		e := j + 1
		for e < len(s) && (isWord(s[e]) || s[e] == '.') {
			e++
		}
		if e-j > 20 {
			w.hint(i, e, "ya29.")
			return e
		}
		return j
	}
	if p, ok := m.keyShape(tok); ok {
		w.hint(i, j, p)
	}
	return j
}

// keyShape reports whether tok, a run of [A-Za-z0-9_-], is an API key of a
// shape Mask recognises, and returns the prefix that a hint may show.
func (m masker) keyShape(tok string) (string, bool) {
	if len(tok) < 15 {
		return "", false
	}
	if p, ok := vendorKey(tok); ok {
		return p, true
	}
	return m.appKey(tok)
}

// vendorKey recognises the key formats of common API vendors by prefix and
// length.
func vendorKey(tok string) (string, bool) {
	long := func(p string, rest int) bool {
		return strings.HasPrefix(tok, p) && len(tok)-len(p) >= rest
	}
	switch tok[0] {
	case 's':
		if strings.HasPrefix(tok, "sk-") {
			for _, p := range [...]string{"sk-ant-", "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-or-"} {
				if long(p, 20) {
					return p, true
				}
			}
			return "sk-", long("sk-", 20)
		}
		for _, p := range [...]string{"sk_live_", "sk_test_"} {
			if long(p, 16) {
				return p, true
			}
		}
	case 'r':
		for _, p := range [...]string{"rk_live_", "rk_test_"} {
			if long(p, 16) {
				return p, true
			}
		}
		return "r8_", long("r8_", 30)
	case 'A':
		if long("AIza", 30) {
			return "AIza", true
		}
		if len(tok) == 20 && (strings.HasPrefix(tok, "AKIA") || strings.HasPrefix(tok, "ASIA")) {
			for i := 4; i < len(tok); i++ {
				if c := tok[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
					return "", false
				}
			}
			return tok[:4], true
		}
	case 'g':
		for _, p := range [...]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "gsk_"} {
			if long(p, 30) {
				return p, true
			}
		}
		return "glpat-", long("glpat-", 20)
	case 'x':
		for _, p := range [...]string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"} {
			if long(p, 20) {
				return p, true
			}
		}
		return "xai-", long("xai-", 30)
	case 'h':
		return "hf_", long("hf_", 30)
	case 'p':
		return "pplx-", long("pplx-", 30)
	case 'n':
		return "nvapi-", long("nvapi-", 30)
	case 'w':
		return "whsec_", long("whsec_", 20)
	}
	return "", false
}

// appKey recognises this module's key format: a lower-case prefix of 2 to
// 16 characters, an underscore and 36 base62 characters (keys.Format); and,
// after one of m's prefixes, any run of at least 12 base62 characters, such
// as a truncated key.
func (m masker) appKey(tok string) (string, bool) {
	prefixes := m.prefixes
	if prefixes == nil {
		prefixes = []string{"wk"}
	}
	for _, p := range prefixes {
		if len(tok) >= len(p)+1+12 && tok[len(p)] == '_' && tok[:len(p)] == p && isBase62(tok[len(p)+1:]) {
			return tok[:len(p)+1], true
		}
	}
	u := strings.IndexByte(tok, '_')
	if u < 2 || u > 16 || len(tok) != u+1+36 || tok[0] < 'a' || tok[0] > 'z' || !isBase62(tok[u+1:]) {
		return "", false
	}
	for i := 1; i < u; i++ {
		if c := tok[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", false
		}
	}
	return tok[:u+1], true
}

// jwt masks a JSON Web Token starting at s[i:j]: three dot-separated
// base64url segments, the first two starting with "eyJ" (the encoding of
// `{"`), the third possibly empty.
func jwt(w *rewriter, i, j int) (int, bool) {
	s := w.s
	if j-i < 8 || !strings.HasPrefix(s[i:j], "eyJ") || j >= len(s) || s[j] != '.' {
		return 0, false
	}
	k := runEnd(s, j+1)
	if k-(j+1) < 4 || !strings.HasPrefix(s[j+1:k], "eyJ") || k >= len(s) || s[k] != '.' {
		return 0, false
	}
	e := runEnd(s, k+1)
	w.replace(i, e, jwtPlaceholder)
	return e, true
}

// scheme masks the credentials after the HTTP authentication scheme names
// Bearer and Basic, as in "Bearer <token>".
func scheme(w *rewriter, i, j int) (int, bool) {
	s := w.s
	tok := s[i:j]
	bearer := equalFold(tok, "bearer")
	if !bearer && !equalFold(tok, "basic") {
		return 0, false
	}
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k == j {
		return 0, false
	}
	e := k
	for e < len(s) && isToken68(s[e]) {
		e++
	}
	for e < len(s) && s[e] == '=' {
		e++
	}
	cred := s[k:e]
	if bearer && !plausibleToken(cred) || !bearer && !plausibleBasic(cred) {
		return 0, false
	}
	if n, ok := nestedLabel(w, k); ok {
		return n, true
	}
	w.replace(k, e, placeholder)
	return e, true
}

// plausibleToken tells a bearer token from a word of prose ("Bearer
// authentication"): at least 8 characters, and either a character other
// than a letter or at least 20 characters.
func plausibleToken(t string) bool {
	if len(t) < 8 {
		return false
	}
	if len(t) >= 20 {
		return true
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return true
		}
	}
	return false
}

// plausibleBasic reports whether t is Basic credentials: base64 of
// "user:password".
func plausibleBasic(t string) bool {
	if len(t) < 4 {
		return false
	}
	if len(t) > 1024 {
		return true // too long for prose, and not worth decoding
	}
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(t)
	}
	return err == nil && strings.IndexByte(string(b), ':') >= 0
}

// labelKind says how the value after a label is masked.
type labelKind uint8

const (
	notLabel    labelKind = iota
	credLabel             // the value is a credential
	authLabel             // Authorization: an optional scheme, then the credential
	cookieLabel           // cookies: the value runs to the end of the line
)

// labelOf classifies a word that may name a credential.
func labelOf(tok string) labelKind {
	// Every label ends in one of these letters; most words do not.
	switch lower(tok[len(tok)-1]) {
	case 'n', 'e', 'y', 't', 'd':
	default:
		return notLabel
	}
	switch {
	case equalFold(tok, "authorization"), equalFold(tok, "proxy-authorization"):
		return authLabel
	case equalFold(tok, "cookie"), equalFold(tok, "set-cookie"):
		return cookieLabel
	case equalFold(tok, "token"):
		return credLabel
	}
	for _, suffix := range [...]string{"apikey", "api-key", "api_key", "_token", "-token", "secret", "password", "passwd", "private_key", "private-key"} {
		if len(tok) >= len(suffix) && equalFold(tok[len(tok)-len(suffix):], suffix) {
			return credLabel
		}
	}
	return notLabel
}

// equalFold reports whether s equals the lower-case ASCII word lc, without
// regard to case.
func equalFold(s, lc string) bool {
	if len(s) != len(lc) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lc[i] {
			return false
		}
	}
	return true
}

// label masks the value after a credential label s[i:j], as in
// "x-api-key: v", "api_key=v", `"password":"v"` or `\"Cookie\": \"v\"`.
func label(w *rewriter, i, j int) (int, bool) {
	s := w.s
	// The separator: an optional closing quote, ':' or '=', spaces.
	k := j
	if strings.HasPrefix(s[k:], `\"`) {
		k += 2
	} else if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		k++
	}
	k = skipSpaces(s, k)
	if k >= len(s) || s[k] != ':' && s[k] != '=' {
		return 0, false
	}
	k++
	if k < len(s) && s[k] == '=' {
		return 0, false // "==" compares, it does not assign
	}
	kind := labelOf(s[i:j])
	if kind == notLabel {
		return 0, false
	}
	k = skipSpaces(s, k)
	if strings.HasPrefix(s[k:], placeholder) {
		return k + len(placeholder), true
	}
	// The value: quoted, in brackets (fmt's rendering of a header), or
	// bare.
	var stop func(byte) bool
	switch {
	case strings.HasPrefix(s[k:], `\"`):
		k += 2
		stop = func(c byte) bool { return c == '\\' || c == '"' || c == '\n' }
	case k < len(s) && (s[k] == '"' || s[k] == '\''):
		q := s[k]
		k++
		stop = func(c byte) bool { return c == q || c == '\n' }
	case k < len(s) && s[k] == '[':
		k++
		stop = func(c byte) bool { return c == ']' || c == '\n' }
	case kind == cookieLabel:
		stop = func(c byte) bool { return c == '\n' || c == '\r' || c == '"' || c == '\'' || c == ']' || c == '}' }
	default:
		stop = bareStop
	}
	// An authentication scheme stays: "Bearer [redacted]", "Token
	// [redacted]". After Authorization the first word, if short and
	// followed by another, is a scheme; Bearer and Basic are, anywhere.
	for first := true; ; first = false {
		p := k
		for p < len(s) && (s[p] >= 'a' && s[p] <= 'z' || s[p] >= 'A' && s[p] <= 'Z') {
			p++
		}
		q := skipSpaces(s, p)
		if p == k || p-k > 12 || q == p || q >= len(s) || stop(s[q]) || bareStop(s[q]) ||
			!(first && kind == authLabel || equalFold(s[k:p], "bearer") || equalFold(s[k:p], "basic")) {
			break
		}
		k = q
		if strings.HasPrefix(s[k:], placeholder) {
			return k + len(placeholder), true
		}
	}
	if n, ok := nestedLabel(w, k); ok {
		return n, true
	}
	e := k
	for e < len(s) && !stop(s[e]) {
		e++
	}
	if e == k || strings.HasPrefix(s[k:], placeholder) {
		return e, true
	}
	w.replace(k, e, placeholder)
	return e, true
}

// nestedLabel masks a label that starts a value at s[k], as in
// "Authorization: x-api-key: v", so that the outer label does not take the
// inner one for its value and leave v.
func nestedLabel(w *rewriter, k int) (int, bool) {
	if k >= len(w.s) || !isAlnum(w.s[k]) {
		return 0, false
	}
	return label(w, k, runEnd(w.s, k))
}

// bareStop ends an unquoted value.
func bareStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ';', '&', '"', '\'', '<', '>', ')', '}', ']', '`':
		return true
	}
	return false
}

// param masks the value of a credential-bearing URL query parameter that
// s[i], a '?' or '&', introduces.
func param(w *rewriter, i int) int {
	s := w.s
	k := i + 1
	for k < len(s) && (isWord(s[k]) || s[k] == '.') {
		k++
	}
	if k == i+1 || k >= len(s) || s[k] != '=' || !sensitiveParam(s[i+1:k]) {
		return i + 1
	}
	v := k + 1
	if strings.HasPrefix(s[v:], placeholder) {
		return v + len(placeholder)
	}
	e := v
	for e < len(s) && !paramStop(s[e]) {
		e++
	}
	if e > v {
		w.replace(v, e, placeholder)
	}
	return e
}

// sensitiveParam reports whether a query parameter's name suggests that its
// value is a credential.
func sensitiveParam(name string) bool {
	for _, n := range [...]string{"sig", "auth", "code"} {
		if equalFold(name, n) {
			return true
		}
	}
	for _, suffix := range [...]string{"key", "token", "secret", "password", "passwd", "signature", "credential"} {
		if len(name) >= len(suffix) && equalFold(name[len(name)-len(suffix):], suffix) {
			return true
		}
	}
	return false
}

func paramStop(c byte) bool {
	return c == '&' || c == '#' || urlStop(c)
}

// userinfo masks the user information of the URL whose "://" is at s[i]. It
// returns where to go on scanning (the host), and where the authority
// ends.
func userinfo(w *rewriter, i int) (next, authEnd int) {
	s := w.s
	a := i + 3
	e, at := a, -1
	for e < len(s) && !urlStop(s[e]) {
		c := s[e]
		if c == '/' || c == '?' || c == '#' || c == '[' || c == ']' {
			break
		}
		if c == '@' {
			at = e
		}
		e++
	}
	if at > a {
		w.replace(a, at, placeholder)
		return at + 1, e
	}
	return a, e
}

// urlQuery returns the start of the query or fragment (or -1) and the end
// of the URL whose authority ends at s[e].
func urlQuery(s string, e int) (query, end int) {
	query, end = -1, e
	for end < len(s) && !urlStop(s[end]) {
		if query < 0 && (s[end] == '?' || s[end] == '#') {
			query = end
		}
		end++
	}
	// Punctuation that ends a URL is more likely the sentence's, as in
	// `GET https://host/p?q=1: EOF`.
	for end > e && strings.IndexByte(".,:;!)]}", s[end-1]) >= 0 {
		end--
	}
	if query >= end {
		query = -1
	}
	return query, end
}

// urlStop ends a URL in text.
func urlStop(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == '\\'
}

func skipSpaces(s string, k int) int {
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	return k
}

// wordStart reports whether the alphanumeric s[i] starts a word: what
// precedes it, past any leading '-' and '_', is the start of s, a character
// other than a letter or digit, or a percent-escape such as "%3D".
func wordStart(s string, i int) bool {
	k := i
	for k > 0 && (s[k-1] == '-' || s[k-1] == '_') {
		k--
	}
	if k == 0 || !isAlnum(s[k-1]) {
		return true
	}
	return k >= 3 && s[k-3] == '%' && isHex(s[k-2]) && isHex(s[k-1])
}

// runEnd returns the end of the run of [A-Za-z0-9_-] that starts at s[i].
func runEnd(s string, i int) int {
	for i < len(s) && isWord(s[i]) {
		i++
	}
	return i
}

// isRun reports whether s is a non-empty run of [A-Za-z0-9_-].
func isRun(s string) bool { return s != "" && runEnd(s, 0) == len(s) }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isWord(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isToken68 reports whether c may appear in an RFC 9110 token68 (before
// its '=' padding).
func isToken68(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// rewriter builds a changed copy of s lazily: nothing is allocated until
// the first replacement.
type rewriter struct {
	s    string
	buf  []byte
	done int // s[:done] is in buf
	used bool
}

// replace replaces s[i:j] with with. Calls come in increasing order of i.
func (w *rewriter) replace(i, j int, with string) {
	if !w.used {
		w.used = true
		w.buf = make([]byte, 0, len(w.s))
	}
	w.buf = append(w.buf, w.s[w.done:i]...)
	w.buf = append(w.buf, with...)
	w.done = j
}

// hint replaces the key s[i:j] with prefix, an ellipsis and its last four
// characters.
func (w *rewriter) hint(i, j int, prefix string) {
	w.replace(i, j-hintLen, prefix+"…")
}

func (w *rewriter) result() (string, bool) {
	if !w.used {
		return w.s, false
	}
	w.buf = append(w.buf, w.s[w.done:]...)
	return string(w.buf), true
}
