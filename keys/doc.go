// Package keys issues and verifies the API keys that a wicket gateway's
// clients present.
//
// A key looks like a GitHub token: an application-chosen prefix, 30 base62
// characters from crypto/rand (about 178 bits) and a 6-character base62
// CRC32 checksum, as in "wk_3J9f…Q2xL0a1B2". Format.Parse refuses typos and
// garbage before any lookup, and the fixed prefix lets secret scanners find
// leaked keys.
//
// Only an HMAC-SHA256 of a key is stored (a Digest), keyed by a pepper
// derived with HKDF from a master secret that stays outside the store. Each
// record notes its pepper version; the Hasher accepts the current and
// previous peppers, and Verify rehashes a key found under an old one. The
// plaintext key is returned once, by Manager.Issue or Manager.Rotate, and
// never stored, logged or shown again: logs and the admin API show only a
// hint (prefix and last four characters).
//
// Manager.Verify parses the key, hashes it, and consults a bounded LRU cache
// (a lazily checked TTL, no background goroutine) before the Store;
// concurrent misses for one key share one lookup. A hit costs a few hundred
// nanoseconds and allocates nothing. Revoke, Rotate, Delete and DeleteOwner
// drop the key from the local cache before they return, so the next request
// is refused; other replicas follow within Options.CacheTTL, or at once when
// they call Manager.Invalidate from a revocation broadcast.
//
// Manager.Middleware authenticates HTTP requests from the Authorization
// (Bearer), x-api-key or x-goog-api-key header or Gemini's "key" query
// parameter (removed from the request before anything else sees it), and
// puts the verified record in the context for PrincipalFrom. With a
// Throttle (MiddlewareOptions.Throttle) it counts failed authentications per
// client address; a blocked address is refused with 429 without a store
// lookup, except for keys this process has already verified and cached.
// NewAdmin serves a JSON admin API with per-owner isolation for user-role
// keys, behind the same middleware.
//
// Spend and budgets are charged to a key's account (Record.Account), not to
// the key itself: Manager.Rotate gives the successor its predecessor's
// account, so rotating a key does not reset its budget.
//
// Store is the seam for the application's own storage: MemoryStore is the
// default, and package keystest is the conformance suite every Store must
// pass.
package keys
