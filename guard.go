package wicket

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
)

// GuardOptions configures Guard.
type GuardOptions struct {
	// MaxBodyBytes caps request bodies. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For entries
	// are believed. Empty means the client IP is the TCP peer's.
	TrustedProxies []netip.Prefix
	// Logger receives recovered panics (their type only). Nil means silent.
	Logger *slog.Logger
	// Now returns the current time, when the request started. Default
	// time.Now.
	Now func() time.Time
	// Dialect tells the dialect of a request from its path, for the errors
	// Guard and the steps before decoding answer. Nil means OpenAI's for
	// every path; the Gateway passes its front doors'.
	Dialect func(path string) providers.Dialect
}

// Guard is the first step of the chain. It caps the request body (413
// without reading past the cap, for declared and chunked lengths alike),
// assigns the request a new, unique ID and returns it in X-Request-Id (and
// in the dialect's own header where its SDKs read another, such as
// Anthropic's Request-Id; an ID the client sent is kept apart, see clientRequestID), determines the client IP (RemoteAddr, or behind trusted
// proxies the right-most untrusted X-Forwarded-For entry), and recovers
// from panics with a 500 that dumps nothing.
func Guard(opts GuardOptions) func(http.Handler) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dialect == nil {
		opts.Dialect = func(string) providers.Dialect { return providers.DialectOpenAI }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := &state{id: newRequestID(), dialect: opts.Dialect(r.URL.Path), start: opts.Now()}
			h := w.Header()
			s.idHeader = [2]string{s.id, s.id}
			h["X-Request-Id"] = s.idHeader[0:1:1]
			if name := s.dialect.RequestIDHeader(); name != "" {
				h[http.CanonicalHeaderKey(name)] = s.idHeader[1:2:2] // Anthropic's SDKs read Request-Id
			}
			if id := clientRequestID(r); id != "" {
				s.outcome.ClientRequestID = id
				h.Set("X-Client-Request-Id", id)
			}
			s.clientIP = clientIP(r, opts.TrustedProxies)
			r = r.WithContext(withState(r.Context(), s))

			tw := &s.tw
			tw.ResponseWriter = w
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// The panic value's type only: its text could hold anything.
				opts.Logger.Error("wicket: panic serving request", slog.String("request_id", s.id), slog.String("panic_type", fmt.Sprintf("%T", p)))
				if tw.wrote {
					panic(http.ErrAbortHandler)
				}
				fail(tw, r, &providers.Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "The gateway had an internal error."})
			}()

			if r.ContentLength > opts.MaxBodyBytes {
				fail(tw, r, tooLarge(opts.MaxBodyBytes))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(tw, r.Body, opts.MaxBodyBytes)
			}
			next.ServeHTTP(tw, r)
		})
	}
}

// trackingWriter notes whether the response has started, so that a late
// failure aborts the connection instead of writing a second header.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Flush sends buffered data to the client.
func (w *trackingWriter) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientRequestID returns the request ID the client sent, in
// X-Client-Request-Id (as OpenAI's SDKs send it) or X-Request-Id, when it
// is well formed; else "". It is echoed in X-Client-Request-Id and kept in
// the outcome's ClientRequestID, never used as the request's own ID: two
// requests that send the same one are still two requests, billed twice.
func clientRequestID(r *http.Request) string {
	id := r.Header.Get("X-Client-Request-Id")
	if id == "" {
		id = r.Header.Get("X-Request-Id")
	}
	if !validRequestID(id) {
		return ""
	}
	return id
}

// validRequestID accepts 1 to 128 characters of letters, digits, '-',
// '_', '.' and ':', so that an incoming ID cannot smuggle anything into
// logs or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	var out [4 + 24]byte
	copy(out[:], "req_")
	hex.Encode(out[4:], b[:])
	return string(out[:])
}

// clientIP returns the peer address, unless the peer is a trusted proxy:
// then the right-most X-Forwarded-For entry that is not itself a trusted
// proxy (entries left of it are client-supplied and could be forged).
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := keys.RemoteIP(r)
	if len(trusted) == 0 || !inAny(trusted, peer) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	ip := peer
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			j := strings.LastIndexByte(v, ',')
			entry := strings.TrimSpace(v[j+1:])
			if j < 0 {
				v = ""
			} else {
				v = v[:j]
			}
			a, err := netip.ParseAddr(entry)
			if err != nil {
				return ip // a garbled entry: trust nothing left of it
			}
			ip = a.Unmap()
			if !inAny(trusted, ip) {
				return ip
			}
		}
	}
	return ip
}

func inAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
