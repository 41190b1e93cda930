package wicket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// fail answers e in the request's dialect, with the request's ID where
// the dialect's error body carries one.
func fail(w http.ResponseWriter, r *http.Request, e *providers.Error) {
	d := providers.DialectOpenAI
	if s := stateFrom(r.Context()); s != nil {
		d = s.dialect
		s.outcome.Status = e.Status
		withID := *e
		withID.RequestID = s.id
		e = &withID
	}
	providers.WriteError(w, d, e)
}

func misconfigured(what string) *providers.Error {
	return &providers.Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "The gateway is misconfigured: " + strings.TrimSuffix(what, ".") + "."}
}

func tooLarge(limit int64) *providers.Error {
	return &providers.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
		Message: fmt.Sprintf("Request body too large: the limit is %d bytes.", limit)}
}

// isTooLarge reports whether a body read failed on the cap.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (g *Gateway) logError(s *state, msg string, err error) {
	g.cfg.Logger.Error(msg, slog.String("request_id", s.id), slog.String("error", errorClass(err)))
}

// recoverHook, deferred around a call of one of the application's hooks,
// recovers a panic in it and logs the hook's name and the panic's type
// (never its value, which may carry content), with the request's ID when
// there is one, so that a faulty hook cannot take the gateway down.
func (g *Gateway) recoverHook(hook, requestID string) {
	p := recover()
	if p == nil {
		return
	}
	attrs := []any{slog.String("panic_type", fmt.Sprintf("%T", p))}
	if requestID != "" {
		attrs = append([]any{slog.String("request_id", requestID)}, attrs...)
	}
	g.cfg.Logger.Error("wicket: "+hook+" panicked", attrs...)
}

// errorClass describes err for logs without its text, which for transport
// errors can include the upstream URL and its query string.
func errorClass(err error) string {
	var ue *providers.UpstreamError
	switch {
	case errors.As(err, &ue):
		return ue.Error()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, errDialect), errors.Is(err, errCredentialRefused), errors.Is(err, errUsageOverBound):
		return err.Error()
	}
	return fmt.Sprintf("%T", err)
}
