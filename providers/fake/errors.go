package fake

import (
	"net/http"

	"github.com/wicket-gw/wicket/internal/apierror"
	"github.com/wicket-gw/wicket/providers"
)

// fail answers with an error in dialect d. typ and code are OpenAI's
// error type and code; Anthropic and Gemini take the type and status name
// they use for status, and Anthropic's body carries the request-id header
// the handler set, as Anthropic's does.
func fail(w http.ResponseWriter, d providers.Dialect, status int, typ, code, msg string) {
	b := apierror.Body{Status: status, Message: msg}
	switch d {
	case providers.DialectAnthropic:
		b.Type, b.RequestID = apierror.AnthropicType(status), w.Header().Get("Request-Id")
		apierror.Write(w, status, b.Anthropic())
	case providers.DialectGemini:
		b.Type = apierror.GeminiStatus(status)
		apierror.Write(w, status, b.Gemini())
	default:
		b.Type, b.Code = typ, code
		apierror.Write(w, status, b.OpenAI())
	}
}

// failure answers the error-selecting model names in dialect d and reports
// whether it did.
func failure(w http.ResponseWriter, r *http.Request, d providers.Dialect, model string) bool {
	switch model {
	case "fake-error-429":
		w.Header().Set("Retry-After", "1")
		fail(w, d, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for fake-error-429.")
	case "fake-error-500":
		fail(w, d, http.StatusInternalServerError, "server_error", "", "The fake server had an error while processing your request.")
	case "fake-error-503":
		fail(w, d, http.StatusServiceUnavailable, "server_error", "", "The fake engine is currently overloaded.")
	case "fake-hang":
		<-r.Context().Done()
	default:
		return false
	}
	return true
}
