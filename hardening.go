package wicket

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"time"
)

// Production server settings, as NewServer applies them.
const (
	// ServerReadHeaderTimeout bounds the time to read a request's headers:
	// it closes connections that trickle them in (slowloris).
	ServerReadHeaderTimeout = 10 * time.Second
	// ServerReadTimeout bounds the time to read a whole request, body
	// included (bodies are capped by Config.MaxBodyBytes too).
	ServerReadTimeout = 2 * time.Minute
	// ServerIdleTimeout closes keep-alive connections idle this long.
	ServerIdleTimeout = 2 * time.Minute
	// ServerMaxHeaderBytes caps a request's header block.
	ServerMaxHeaderBytes = 64 << 10
)

// NewServer returns an *http.Server that serves h with the settings a
// gateway in production wants: ServerReadHeaderTimeout,
// ServerReadTimeout, ServerIdleTimeout and ServerMaxHeaderBytes, no
// WriteTimeout (streams may run for minutes; the upstream adapters end
// idle ones), and TLSConfig() for ListenAndServeTLS. Set Addr, ErrorLog
// and BaseContext as the application needs.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		TLSConfig:         TLSConfig(),
	}
}

// TLSConfig returns a TLS configuration for serving the gateway: TLS 1.2
// at least, and 1.3 whenever the client offers it (it always wins the
// negotiation); for TLS 1.2 only ECDHE key exchange with AEAD ciphers
// (forward secrecy, no CBC), and X25519 (with its post-quantum hybrid,
// which Go offers by default) or P-256 key exchange. TLS 1.3's suites are
// not configurable in Go and are all modern. Add certificates
// (Certificates or GetCertificate) before use.
func TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
	}
}

// HSTS returns middleware that sets Strict-Transport-Security on every
// answer to a request that arrived over TLS, telling browsers to use HTTPS
// for maxAge (whole seconds; at least a year is the usual choice), with
// includeSubDomains when subdomains is set. Plain-HTTP answers get no
// header, as RFC 6797 requires. It panics if maxAge is negative.
func HSTS(maxAge time.Duration, subdomains bool) func(http.Handler) http.Handler {
	if maxAge < 0 {
		panic("wicket: HSTS max-age must not be negative")
	}
	v := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	if subdomains {
		v += "; includeSubDomains"
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS != nil {
				w.Header().Set("Strict-Transport-Security", v)
			}
			next.ServeHTTP(w, r)
		})
	}
}
