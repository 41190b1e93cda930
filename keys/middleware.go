package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// MiddlewareOptions configures Manager.Middleware. A nil *MiddlewareOptions
// means all defaults.
type MiddlewareOptions struct {
	// ClientIP returns the client address checked against a key's IP
	// allowlist. Nil means the host of Request.RemoteAddr; behind proxies,
	// supply the gateway's trusted-proxy logic.
	ClientIP func(*http.Request) netip.Addr
	// ErrorHandler answers a refused request. err wraps one of ErrMissing,
	// ErrMalformed, ErrUnknown, ErrRevoked, ErrExpired, ErrForbidden, or a
	// store failure; StatusCode and PublicMessage turn it into a status and
	// a safe message. Nil means WriteError (an OpenAI-style JSON body).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Middleware authenticates requests: it extracts the key (ExtractKey),
// verifies it with the client IP, checks the key's endpoint scopes against
// the request path, and calls next with the record in the request context
// (PrincipalFrom). A Gemini-style "key" query parameter is removed from the
// request that next and ErrorHandler see, so that no later log can print it.
func (m *Manager) Middleware(opts *MiddlewareOptions) func(http.Handler) http.Handler {
	var o MiddlewareOptions
	if opts != nil {
		o = *opts
	}
	if o.ClientIP == nil {
		o.ClientIP = RemoteIP
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = WriteError
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, _, err := ExtractKey(r)
			r = StripQueryKey(r)
			if err != nil {
				o.ErrorHandler(w, r, err)
				return
			}
			rec, err := m.Verify(r.Context(), key, o.ClientIP(r))
			if err != nil {
				o.ErrorHandler(w, r, err)
				return
			}
			if !rec.Scopes.AllowsEndpoint(r.URL.Path) {
				o.ErrorHandler(w, r, fmt.Errorf("%w: endpoint not allowed for this key", ErrForbidden))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), rec)))
		})
	}
}

// StripQueryKey returns r, or a shallow copy of r without the "key" query
// parameter when it has one.
func StripQueryKey(r *http.Request) *http.Request {
	if r.URL == nil || r.URL.RawQuery == "" {
		return r
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err == nil && !q.Has("key") {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	if err != nil {
		u.RawQuery = "" // unparsable: drop it all rather than risk a key
	} else {
		q.Del("key")
		u.RawQuery = q.Encode()
	}
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}

// RemoteIP returns the host of r.RemoteAddr, or the zero Addr.
func RemoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// PublicMessage returns a message about err that is safe to show a client:
// it names the failure, never the key.
func PublicMessage(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "Missing API key. Send it as 'Authorization: Bearer <key>'."
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknown):
		return "Invalid API key."
	case errors.Is(err, ErrRevoked):
		return "This API key has been revoked."
	case errors.Is(err, ErrExpired):
		return "This API key has expired."
	case errors.Is(err, ErrForbidden):
		msg := strings.TrimPrefix(err.Error(), ErrForbidden.Error()+": ")
		if msg == err.Error() {
			return "This API key is not allowed to do that."
		}
		return "Forbidden: " + msg + "."
	case errors.Is(err, ErrNotFound):
		return "Not found."
	case errors.Is(err, ErrInvalid):
		return strings.TrimPrefix(err.Error(), "keys: ")
	}
	return "The key service is unavailable; try again later."
}

// ErrorCode returns a short machine-readable code for err, in OpenAI's
// vocabulary where it has one.
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrMissing), errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknown):
		return "invalid_api_key"
	case errors.Is(err, ErrRevoked):
		return "api_key_revoked"
	case errors.Is(err, ErrExpired):
		return "api_key_expired"
	case errors.Is(err, ErrForbidden):
		return "permission_denied"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalid):
		return "invalid_request"
	case errors.Is(err, ErrExists):
		return "conflict"
	}
	return "service_unavailable"
}

// WriteError answers with StatusCode(err) and an OpenAI-style body:
// {"error":{"message":…,"type":…,"param":null,"code":…}}.
func WriteError(w http.ResponseWriter, _ *http.Request, err error) {
	status := StatusCode(err)
	typ := "invalid_request_error"
	switch status {
	case http.StatusForbidden:
		typ = "permission_error"
	case http.StatusServiceUnavailable:
		typ = "server_error"
	}
	body := struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}{}
	body.Error.Message, body.Error.Type, body.Error.Code = PublicMessage(err), typ, ErrorCode(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wicket"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
