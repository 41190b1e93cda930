package ratelimit

import (
	"context"
	"errors"
	"net/http"

	"github.com/wicket-gw/wicket/internal/apierror"
)

// MiddlewareOptions configures [Limiter.Middleware].
type MiddlewareOptions struct {
	// Subject returns the subject of r and its Limits, typically from the
	// principal that authentication put in r's context. ok false means r is
	// not limited (a health check, say) and passes through untouched; so
	// authentication must run before this middleware. Subject is required.
	Subject func(r *http.Request) (subject string, l Limits, ok bool)

	// ErrorHandler answers a request that was refused or could not be
	// checked. Before it runs, a refusal's rate-limit headers (see
	// WriteHeaders) are already set on w. If nil, a refusal (a *LimitError)
	// gets status 429 and the body
	// {"error":{"message":"...","type":"rate_limit_error","param":null,"code":null}}, and any other
	// error (ErrCapacity, a failing backend) gets 503 and
	// {"error":{"message":"...","type":"server_error","param":null,"code":null}} (with retry-after 1
	// for ErrCapacity), with a message that never includes the error's
	// text.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Middleware returns middleware that admits each request with [Limiter.Admit]
// (concurrency slot, then one request per minute) before calling the next
// handler; tokens are left to the gateway, which knows the estimate only once
// it has read the body. An admitted request gets the rate-limit headers set on
// its response and its [*Permit] in its context (see [PermitFrom]); the
// middleware releases the Permit's slot when the next handler returns, or
// panics (the panic then goes on).
//
// Middleware panics if opts.Subject is nil.
func (l *Limiter) Middleware(opts MiddlewareOptions) func(http.Handler) http.Handler {
	if opts.Subject == nil {
		panic("ratelimit: Middleware needs a Subject func")
	}
	onError := opts.ErrorHandler
	if onError == nil {
		onError = writeError
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			subject, lim, ok := opts.Subject(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			p, err := l.Admit(r.Context(), subject, lim)
			if err != nil {
				if le, ok := errors.AsType[*LimitError](err); ok {
					WriteHeaders(w.Header(), le.Decision)
				}
				onError(w, r, err)
				return
			}
			defer p.Release() // runs on a panic too, which then goes on
			WriteHeaders(w.Header(), p.Decision())
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), permitKey{}, p)))
		})
	}
}

// permitKey is the context key of the *Permit set by Middleware.
type permitKey struct{}

// PermitFrom returns the *Permit that [Limiter.Middleware] put in ctx, or nil
// if there is none. The gateway uses it to reserve and settle the request's
// tokens.
func PermitFrom(ctx context.Context) *Permit {
	p, _ := ctx.Value(permitKey{}).(*Permit)
	return p
}

// writeError is Middleware's default ErrorHandler.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	status, typ, msg := http.StatusServiceUnavailable, "server_error", "The rate limiter is unavailable; please retry."
	if le, ok := errors.AsType[*LimitError](err); ok {
		status, typ, msg = http.StatusTooManyRequests, "rate_limit_error", le.message()
	} else if errors.Is(err, ErrCapacity) {
		w.Header().Set("Retry-After", "1")
	}
	apierror.Write(w, status, apierror.Body{Status: status, Type: typ, Message: msg}.OpenAI())
}
