package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ScanKeys gives the public keys that sign secret scanning reports.
// NewGitHubScanKeys is the default; tests and applications with their own
// key distribution implement it directly.
type ScanKeys interface {
	// PublicKey returns the P-256 key with the identifier id (lower-case
	// hex), or an error wrapping ErrUnknownScanKey when there is none.
	// Other errors mean the keys could not be obtained.
	PublicKey(ctx context.Context, id string) (*ecdsa.PublicKey, error)
}

// ErrUnknownScanKey means a secret scanning report named a signing key that
// the ScanKeys do not know.
var ErrUnknownScanKey = errors.New("keys: unknown secret scanning key")

// GitHubScanKeysURL is where GitHub publishes the keys that sign its secret
// scanning reports.
const GitHubScanKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// maxScanKeysBytes caps the public key document read from GitHub.
const maxScanKeysBytes = 1 << 20

// GitHubScanKeysOptions configures NewGitHubScanKeys. A nil
// *GitHubScanKeysOptions, and every zero field, means the default
// documented on the field. Negative durations are invalid.
type GitHubScanKeysOptions struct {
	// URL is where the key document is fetched. Default GitHubScanKeysURL.
	URL string
	// Client fetches it. Default a client with a 10-second timeout.
	Client *http.Client
	// RefreshInterval is the shortest time between two fetches: a report
	// naming a key not yet known triggers a fetch only if the last one is
	// at least this old, so that a flood of made-up key identifiers cannot
	// hammer GitHub. Default 1 minute.
	RefreshInterval time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// GitHubScanKeys is the ScanKeys of GitHub's secret scanning: it fetches
// GitHub's public key document on first use, keeps the keys, and fetches
// again when asked for an identifier it does not know, at most once per
// RefreshInterval. It is safe for concurrent use.
type GitHubScanKeys struct {
	opts GitHubScanKeysOptions
	// sem, of capacity one, is held while fetching: one fetch at a time,
	// and a waiting caller can still give up with its context.
	sem chan struct{}

	// mu guards the fields below it.
	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time // when the last fetch started; zero before the first
	lastErr error     // the last fetch's error, nil if it succeeded
}

// NewGitHubScanKeys returns a GitHubScanKeys configured by opts (nil means
// defaults). It fetches nothing until first asked.
func NewGitHubScanKeys(opts *GitHubScanKeysOptions) (*GitHubScanKeys, error) {
	var o GitHubScanKeysOptions
	if opts != nil {
		o = *opts
	}
	if o.RefreshInterval < 0 {
		return nil, fmt.Errorf("%w: GitHubScanKeysOptions.RefreshInterval is negative", ErrInvalid)
	}
	if o.URL == "" {
		o.URL = GitHubScanKeysURL
	}
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: GitHubScanKeysOptions.URL must be an absolute http(s) URL", ErrInvalid)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &GitHubScanKeys{opts: o, sem: make(chan struct{}, 1)}, nil
}

// PublicKey returns the key with the identifier id, fetching GitHub's
// document when id is not known and the last fetch is at least
// RefreshInterval old. When the last fetch failed and id is not known, it
// returns that fetch's error rather than ErrUnknownScanKey.
func (g *GitHubScanKeys) PublicKey(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	id = strings.ToLower(id)
	if k, ok := g.known(id); ok {
		return k, nil
	}
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-g.sem }()

	// Another caller may have fetched while this one waited.
	g.mu.Lock()
	k, ok := g.keys[id]
	due := g.fetched.IsZero() || g.opts.Now().Sub(g.fetched) >= g.opts.RefreshInterval
	if !ok && due {
		g.fetched = g.opts.Now()
	}
	lastErr := g.lastErr
	g.mu.Unlock()
	if ok {
		return k, nil
	}
	if !due {
		if lastErr != nil {
			return nil, lastErr
		}
		return nil, ErrUnknownScanKey
	}

	keys, err := g.fetch(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastErr = err
	if err != nil {
		return nil, err
	}
	g.keys = keys
	if k, ok := keys[id]; ok {
		return k, nil
	}
	return nil, ErrUnknownScanKey
}

// known returns the cached key with the identifier id.
func (g *GitHubScanKeys) known(id string) (*ecdsa.PublicKey, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.keys[id]
	return k, ok
}

// fetch reads and parses the key document. Keys that are not PEM PKIX
// P-256 ECDSA keys are skipped; a document with none is an error.
func (g *GitHubScanKeys) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("keys: fetching secret scanning keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.opts.Client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL; keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("keys: fetching secret scanning keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("keys: fetching secret scanning keys: status %d", resp.StatusCode)
	}
	var doc struct {
		PublicKeys []struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
		} `json:"public_keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxScanKeysBytes)).Decode(&doc); err != nil {
		return nil, errors.New("keys: fetching secret scanning keys: malformed key document")
	}
	keys := make(map[string]*ecdsa.PublicKey, len(doc.PublicKeys))
	for _, pk := range doc.PublicKeys {
		if k := parseScanKey(pk.Key); k != nil && pk.KeyIdentifier != "" {
			keys[strings.ToLower(pk.KeyIdentifier)] = k
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("keys: fetching secret scanning keys: no usable P-256 key in the document")
	}
	return keys, nil
}

// parseScanKey returns the P-256 public key in a PEM PKIX block, or nil.
func parseScanKey(s string) *ecdsa.PublicKey {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil
	}
	return k
}
