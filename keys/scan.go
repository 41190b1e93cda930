package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/wicket-gw/wicket/audit"
)

// ScanOptions configures Manager.SecretScanning. A nil *ScanOptions, and
// every zero field, means the default documented on the field. Negative
// values are invalid.
type ScanOptions struct {
	// Keys gives the public keys that sign reports. Default
	// NewGitHubScanKeys(nil): GitHub's published keys.
	Keys ScanKeys
	// Action is applied to each reported key found in the store that is
	// not already revoked. Nil means revoke it (Manager.Revoke). An
	// application may pass its own, such as Manager.SuspendLeaked, which
	// suspends the key pending review. An error answers the report with 503
	// so that GitHub sends it again.
	Action func(ctx context.Context, rec *Record) error
	// ReplayWindow is how long the digest of a verified report is
	// remembered: the same body arriving again within it is refused with
	// 409, since GitHub's protocol carries no nonce. Default 24 hours.
	ReplayWindow time.Duration
	// ReplayCacheSize bounds how many report digests are remembered
	// (least recently seen forgotten first). Default 100,000.
	ReplayCacheSize int
	// MaxBodyBytes caps a report's body; a longer one is refused with 413.
	// Default 1 MiB.
	MaxBodyBytes int64
}

// Headers of GitHub's secret scanning partner protocol.
const (
	scanKeyIDHeader     = "Github-Public-Key-Identifier"
	scanSignatureHeader = "Github-Public-Key-Signature"
)

// Limits on what a report's headers may hold before any work is done.
const (
	maxScanKeyIDLen     = 256
	maxScanSignatureLen = 512 // base64 of a DER P-256 signature is under 100
	maxScanTypeLen      = 64
)

// SecretScanning returns the endpoint of GitHub's secret scanning partner
// program (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program):
// GitHub POSTs a JSON array of tokens matching this application's key
// format that it found in public, signed with ECDSA P-256 over SHA-256 of
// the body (headers Github-Public-Key-Identifier and
// Github-Public-Key-Signature).
//
// The handler checks the signature before it parses anything, refuses a
// body it has already accepted within ReplayWindow, and then, for each
// token that is one of m's keys, emits an audit.ActionKeyLeaked event and
// applies ScanOptions.Action (revocation by default) unless the key is
// already revoked. It answers 200 with GitHub's feedback format, one
// element per token: {"token_hash":…,"token_type":…,"label":…}, the label
// "true_positive" for a key of m and "false_positive" otherwise. A token
// that is not of m's key format is never looked up.
//
// Refusals: 405 for a method other than POST, 415 for a body that is not
// JSON, 401 for missing or bad signature headers, an unknown signing key or
// a bad signature, 413 for a body over MaxBodyBytes, 409 for a replay, 400
// for a body that is not an array of objects with a string "token", 503
// when the keys or the store are unavailable. Nothing the handler answers,
// logs or audits contains a token, the URL where it was found, or the
// signature.
func (m *Manager) SecretScanning(opts *ScanOptions) (http.Handler, error) {
	var o ScanOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.ReplayWindow < 0:
		return nil, fmt.Errorf("%w: ScanOptions.ReplayWindow is negative", ErrInvalid)
	case o.ReplayCacheSize < 0:
		return nil, fmt.Errorf("%w: ScanOptions.ReplayCacheSize is negative", ErrInvalid)
	case o.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: ScanOptions.MaxBodyBytes is negative", ErrInvalid)
	}
	if o.Keys == nil {
		k, err := NewGitHubScanKeys(nil)
		if err != nil {
			return nil, err
		}
		o.Keys = k
	}
	if o.ReplayWindow == 0 {
		o.ReplayWindow = 24 * time.Hour
	}
	if o.ReplayCacheSize == 0 {
		o.ReplayCacheSize = 100_000
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	seen, err := lru.New[[sha256.Size]byte, time.Time](o.ReplayCacheSize)
	if err != nil {
		return nil, fmt.Errorf("keys: replay cache: %w", err)
	}
	return &scanHandler{m: m, opts: o, seen: seen}, nil
}

type scanHandler struct {
	m    *Manager
	opts ScanOptions

	// mu makes a replay check and its record one step.
	mu   sync.Mutex
	seen *lru.Cache[[sha256.Size]byte, time.Time]
}

// scanReport is one element of a report. Only the token and its type are
// read: the URL and source where it was found are never decoded.
type scanReport struct {
	Token *string `json:"token"`
	Type  *string `json:"type"`
}

// scanFeedback is one element of the answer.
type scanFeedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

const (
	labelTrue  = "true_positive"
	labelFalse = "false_positive"
)

func (h *scanHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		scanError(w, http.StatusMethodNotAllowed, "method not allowed; use POST")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		scanError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
		return
	}
	keyID, sig, ok := scanHeaders(r.Header)
	if !ok {
		scanError(w, http.StatusUnauthorized, "missing or malformed signature headers")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			scanError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		scanError(w, http.StatusBadRequest, "could not read request body")
		return
	}
	pub, err := h.opts.Keys.PublicKey(r.Context(), keyID)
	if err != nil {
		if errors.Is(err, ErrUnknownScanKey) {
			scanError(w, http.StatusUnauthorized, "unknown signing key")
			return
		}
		h.m.logError("keys: secret scanning keys unavailable", slog.String("error", err.Error()))
		scanError(w, http.StatusServiceUnavailable, "signing keys unavailable")
		return
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		scanError(w, http.StatusUnauthorized, "bad signature")
		return
	}
	if !h.firstSeen(sum) {
		scanError(w, http.StatusConflict, "report already received")
		return
	}
	var reports []scanReport
	if err := json.Unmarshal(body, &reports); err != nil || !validReports(reports) {
		scanError(w, http.StatusBadRequest, "body must be a JSON array of objects with a string token")
		return
	}
	out, err := h.handle(r.Context(), reports)
	if err != nil {
		h.forget(sum) // let GitHub's retry through
		scanError(w, http.StatusServiceUnavailable, "could not process the report; try again")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// scanHeaders returns the signing key identifier (lower-case hex) and the
// decoded signature, or false.
func scanHeaders(h http.Header) (keyID string, sig []byte, ok bool) {
	keyID, sigText := h.Get(scanKeyIDHeader), h.Get(scanSignatureHeader)
	if keyID == "" || len(keyID) > maxScanKeyIDLen || sigText == "" || len(sigText) > maxScanSignatureLen {
		return "", nil, false
	}
	raw, err := hex.DecodeString(keyID)
	if err != nil {
		return "", nil, false
	}
	sig, err = base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return "", nil, false
	}
	return hex.EncodeToString(raw), sig, true
}

// firstSeen records the body digest sum and reports whether it was not
// already recorded within the replay window.
func (h *scanHandler) firstSeen(sum [sha256.Size]byte) bool {
	now := h.m.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if at, ok := h.seen.Get(sum); ok && now.Sub(at) < h.opts.ReplayWindow {
		return false
	}
	h.seen.Add(sum, now)
	return true
}

// forget drops the body digest sum, for a report that failed.
func (h *scanHandler) forget(sum [sha256.Size]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen.Remove(sum)
}

// validReports reports whether every element was an object with a string
// token (json.Unmarshal has already refused other types).
func validReports(reports []scanReport) bool {
	if reports == nil { // the body was null
		return false
	}
	for _, rep := range reports {
		if rep.Token == nil {
			return false
		}
	}
	return true
}

// handle labels each report, applying the action to the keys found. A
// token reported twice is handled once.
func (h *scanHandler) handle(ctx context.Context, reports []scanReport) ([]scanFeedback, error) {
	out := make([]scanFeedback, 0, len(reports))
	labels := make(map[string]string, len(reports))
	for _, rep := range reports {
		token := *rep.Token
		label, ok := labels[token]
		if !ok {
			found, err := h.leaked(ctx, token)
			if err != nil {
				return nil, err
			}
			label = labelFalse
			if found {
				label = labelTrue
			}
			labels[token] = label
		}
		hash := sha256.Sum256([]byte(token))
		fb := scanFeedback{TokenHash: hex.EncodeToString(hash[:]), Label: label}
		if rep.Type != nil && isScanType(*rep.Type) {
			fb.TokenType = *rep.Type
		}
		out = append(out, fb)
	}
	return out, nil
}

// leaked handles one reported token: it reports whether it is a key of the
// Manager and, if so, audits the leak and applies the action.
func (h *scanHandler) leaked(ctx context.Context, token string) (bool, error) {
	rec, err := h.m.lookupLeaked(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		h.m.logError("keys: secret scanning lookup failed", slog.String("error", err.Error()))
		return false, err
	}
	e := audit.Event{Action: audit.ActionKeyLeaked, Outcome: audit.OutcomeAllowed, Subject: rec.ID, Owner: rec.Owner, ActorKeyHint: rec.Hint}
	if rec.RevokedAt.IsZero() {
		if err := h.act(ctx, rec); err != nil {
			h.m.logError("keys: leaked key action failed", slog.String("key_id", rec.ID), slog.String("error", err.Error()))
			e.Outcome, e.Reason = audit.OutcomeFailed, audit.ReasonInternal
			h.m.audit(ctx, e)
			return false, err
		}
	}
	h.m.audit(ctx, e)
	return true, nil
}

// act applies the configured action to rec, revocation by default.
func (h *scanHandler) act(ctx context.Context, rec *Record) error {
	if h.opts.Action != nil {
		return h.opts.Action(ctx, rec)
	}
	_, err := h.m.Revoke(ctx, rec.ID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted since the lookup: it no longer works either
	}
	return err
}

// lookupLeaked returns the record of key, found by its digest under the
// current pepper or a previous one, straight from the Store (a leak report
// is rare and must see the latest state), or ErrNotFound. A key not of the
// Manager's format is not looked up. Unlike Verify it does not rehash: it
// only reads.
func (m *Manager) lookupLeaked(ctx context.Context, key string) (*Record, error) {
	if m.format.Parse(key) != nil {
		return nil, ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.LookupTimeout)
	defer cancel()
	pools := append([]*macPool{m.hasher.current}, m.hasher.previous...)
	for _, p := range pools {
		d := p.digest(key)
		rec, err := m.store.Lookup(ctx, d)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: store lookup: %w", err)
		}
		if rec.Digest.Equal(d) {
			return rec, nil
		}
	}
	return nil, ErrNotFound
}

// isScanType reports whether a reported token type may be echoed: a short
// identifier of ASCII letters, digits, '_', '-' and '.'.
func isScanType(s string) bool {
	if s == "" || len(s) > maxScanTypeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// scanError answers a refused report with {"error": message}; message is
// always one of the handler's fixed strings.
func scanError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}
