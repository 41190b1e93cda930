package keys

import (
	"errors"
	"github.com/wicket-gw/wicket/audit"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/wicket-gw/wicket/internal/apierror"
)

// MiddlewareOptions configures Manager.Middleware. A nil *MiddlewareOptions
// means all defaults.
type MiddlewareOptions struct {
	// ClientIP returns the client address checked against a key's IP
	// allowlist and counted by Throttle. Nil means the host of
	// Request.RemoteAddr; behind proxies, supply the gateway's trusted-proxy
	// logic.
	ClientIP func(*http.Request) netip.Addr
	// ErrorHandler answers a refused request. err wraps one of ErrMissing,
	// ErrMalformed, ErrUnknown, ErrRevoked, ErrExpired, ErrSuspended,
	// ErrForbidden (as a *ForbiddenError once the key is verified),
	// ErrThrottled (as a *ThrottledError), ErrThrottleUnavailable, or a
	// store failure; StatusCode and PublicMessage turn it into a status and
	// a safe message, and SetErrorHeaders sets its headers. Nil means
	// WriteError (an OpenAI-style JSON body).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Throttle, if set, counts failed authentications per client address
	// and blocks addresses that fail too often. Nil means no throttling.
	Throttle Throttle
	// Attach, if set, makes the verified record available to next in place
	// of WithPrincipal: it returns the request next gets, whose context
	// must answer PrincipalFrom with rec (see IsPrincipalKey). A gateway
	// whose request context already carries its state sets it there, and
	// saves a context and a request copy per request. Nil means
	// r.WithContext(WithPrincipal(r.Context(), rec)).
	Attach func(r *http.Request, rec *Record) *http.Request
}

// Middleware authenticates requests: it extracts the key (ExtractKey),
// verifies it with the client IP, checks the key's endpoint scopes against
// the request path, and calls next with the record in the request context
// (PrincipalFrom). A Gemini-style "key" query parameter is removed from the
// request that next and ErrorHandler see, so that no later log can print it.
//
// With a Throttle, every refusal with status 401 other than a missing key
// counts as a failure of the client address. While an address is blocked,
// keys already verified and cached by this process keep working, so that
// one misbehaving client does not lock out everyone behind the same address;
// unknown keys are refused with 429 (a *ThrottledError) without a store
// lookup, and are not counted. When the Throttle fails closed (its Blocked
// returns an error), requests are treated alike but refused with 503
// (ErrThrottleUnavailable, Retry-After: 1): a cached key is no guess, so it
// needs no throttle. The Manager's Options.Now gives the time.
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
			ip := o.ClientIP(r)
			// A key verified and cached by this process passes whatever the
			// throttle says (a blocked address keeps its cached keys), so it
			// is checked first and the throttle, which may be a network
			// round trip, is asked only about the others.
			var rec *Record
			var d Digest
			var parsed, ok bool
			if err == nil {
				rec, d, parsed, ok = m.verifyCached(key, ip)
			}
			if !ok {
				if refusal := m.blocked(o.Throttle, ip); refusal != nil {
					o.ErrorHandler(w, r, refusal)
					return
				}
				switch {
				case err != nil:
				case parsed: // hashed already
					rec, err = m.verifyDigest(r.Context(), d, key, ip)
				default: // Verify names the format error
					rec, err = m.Verify(r.Context(), key, ip)
				}
				if err != nil {
					m.auditAuthFailure(key, ip, err)
					if o.Throttle != nil && StatusCode(err) == http.StatusUnauthorized && !errors.Is(err, ErrMissing) {
						if _, blocked := o.Throttle.Fail(ip, m.opts.Now()); blocked {
							// This failure blocked the address.
							m.audit(r.Context(), audit.Event{Action: audit.ActionIPBlocked, Outcome: audit.OutcomeRefused, Reason: audit.ReasonTooManyFailures, ClientIP: ip})
						}
					}
					o.ErrorHandler(w, r, err)
					return
				}
			}
			if !rec.Scopes.AllowsEndpoint(r.URL.Path) {
				err := &ForbiddenError{KeyID: rec.ID, Why: "endpoint not allowed for this key"}
				m.audit(r.Context(), audit.Event{Action: audit.ActionAuthFailed, Outcome: audit.OutcomeRefused, Reason: audit.ReasonForbidden,
					ActorKeyID: rec.ID, ActorKeyHint: rec.Hint, Owner: rec.Owner, ClientIP: ip})
				o.ErrorHandler(w, r, err)
				return
			}
			if o.Attach != nil {
				next.ServeHTTP(w, o.Attach(r, rec))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), rec)))
		})
	}
}

// blocked asks t, if set, whether ip is blocked now, and returns the error
// to refuse a request from ip with unless its key is cached: a
// *ThrottledError if ip is blocked, a throttleUnavailableError if t cannot
// tell, nil otherwise.
func (m *Manager) blocked(t Throttle, ip netip.Addr) error {
	if t == nil {
		return nil
	}
	retry, blocked, err := t.Blocked(ip, m.opts.Now())
	switch {
	case err != nil:
		return &throttleUnavailableError{cause: err}
	case blocked:
		return &ThrottledError{RetryAfter: retry}
	}
	return nil
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
	case errors.Is(err, ErrSuspended):
		return "This API key is suspended. Its owner or an administrator can have the suspension lifted."
	case errors.Is(err, ErrThrottled):
		return "Too many failed authentication attempts from this address. Try again later."
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
	case errors.Is(err, ErrSuspended):
		return "api_key_suspended"
	case errors.Is(err, ErrForbidden):
		return "permission_denied"
	case errors.Is(err, ErrThrottled):
		return "too_many_failed_authentications"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalid):
		return "invalid_request"
	case errors.Is(err, ErrExists):
		return "conflict"
	}
	return "service_unavailable"
}

// WriteError answers with StatusCode(err), the headers of SetErrorHeaders
// and an OpenAI-style body:
// {"error":{"message":…,"type":…,"param":null,"code":…}}.
func WriteError(w http.ResponseWriter, _ *http.Request, err error) {
	status := StatusCode(err)
	SetErrorHeaders(w.Header(), err)
	apierror.Write(w, status, apierror.Body{Status: status, Type: apierror.OpenAIType(status), Code: ErrorCode(err), Message: PublicMessage(err)}.OpenAI())
}

// SetErrorHeaders sets the headers that go with an authentication refusal,
// whatever the body's shape: WWW-Authenticate for a 401, Retry-After (whole
// seconds, rounded up, at least 1) for a *ThrottledError, and Retry-After: 1
// for ErrThrottleUnavailable. An ErrorHandler that writes its own body calls
// it.
func SetErrorHeaders(h http.Header, err error) {
	if StatusCode(err) == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="wicket"`)
	}
	if te, ok := errors.AsType[*ThrottledError](err); ok {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(te.RetryAfter), 10))
	} else if errors.Is(err, ErrThrottleUnavailable) {
		h.Set("Retry-After", "1")
	}
}
