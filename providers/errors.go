package providers

import (
	"net/http"
	"strconv"

	"github.com/wicket-gw/wicket/internal/apierror"
)

// Error is a failure the gateway answers in the caller's dialect. Its
// fields are written to the client as they are, so they must never carry
// key material, a URL with a query string, or body text.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Type is the OpenAI error type, such as "invalid_request_error";
	// empty means the usual type for Status. Other dialects map it.
	Type string
	// Code is a short machine-readable code such as "model_not_found".
	Code string
	// Param names the request field at fault, if any.
	Param string
	// Message is for people.
	Message string
	// RequestID is the gateway's ID for the request, which Anthropic's
	// error body carries as request_id; the gateway sets it.
	RequestID string
}

// Error implements error.
func (e *Error) Error() string {
	return "providers: " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// openAIType returns e.Type or the type OpenAI uses for e.Status.
func (e *Error) openAIType() string {
	if e.Type != "" {
		return e.Type
	}
	return apierror.OpenAIType(e.Status)
}

// Body returns the error's JSON body in dialect d:
//
//	OpenAI:    {"error":{"message":…,"type":…,"param":…,"code":…}}
//	Anthropic: {"type":"error","error":{"type":…,"message":…},"request_id":…}
//	Gemini:    {"error":{"code":…,"message":…,"status":…}}
func (e *Error) Body(d Dialect) []byte {
	b := apierror.Body{Status: e.Status, Message: e.Message, RequestID: e.RequestID}
	switch d {
	case DialectAnthropic:
		b.Type = apierror.AnthropicType(e.Status)
		return b.Anthropic()
	case DialectGemini:
		b.Type = apierror.GeminiStatus(e.Status)
		return b.Gemini()
	}
	b.Type, b.Param, b.Code = e.openAIType(), e.Param, e.Code
	return b.OpenAI()
}

// WriteError answers with e in dialect d. Headers the caller set before
// (retry-after, rate-limit headers) are kept.
func WriteError(w http.ResponseWriter, d Dialect, e *Error) {
	apierror.Write(w, e.Status, e.Body(d))
}
