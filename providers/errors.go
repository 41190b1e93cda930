package providers

import (
	"encoding/json"
	"net/http"
	"strconv"
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
	switch e.Status {
	case http.StatusUnauthorized:
		return "invalid_request_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	}
	if e.Status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

// anthropicType maps the status to Anthropic's error types.
func (e *Error) anthropicType() string {
	switch e.Status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529, http.StatusServiceUnavailable:
		return "overloaded_error"
	}
	if e.Status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// geminiStatus maps the HTTP status to the google.rpc.Code name Gemini sends.
func (e *Error) geminiStatus() string {
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable, 529:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if e.Status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

type openAIErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type anthropicErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type geminiErrorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// Body returns the error's JSON body in dialect d:
//
//	OpenAI:    {"error":{"message":…,"type":…,"param":…,"code":…}}
//	Anthropic: {"type":"error","error":{"type":…,"message":…}}
//	Gemini:    {"error":{"code":…,"message":…,"status":…}}
func (e *Error) Body(d Dialect) []byte {
	var v any
	switch d {
	case DialectAnthropic:
		var b anthropicErrorBody
		b.Type = "error"
		b.Error.Type, b.Error.Message = e.anthropicType(), e.Message
		v = b
	case DialectGemini:
		var b geminiErrorBody
		b.Error.Code, b.Error.Message, b.Error.Status = e.Status, e.Message, e.geminiStatus()
		v = b
	default:
		var b openAIErrorBody
		b.Error.Message, b.Error.Type = e.Message, e.openAIType()
		if e.Param != "" {
			b.Error.Param = &e.Param
		}
		if e.Code != "" {
			b.Error.Code = &e.Code
		}
		v = b
	}
	out, _ := json.Marshal(v)
	return append(out, '\n')
}

// WriteError answers with e in dialect d. Headers the caller set before
// (retry-after, rate-limit headers) are kept.
func WriteError(w http.ResponseWriter, d Dialect, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.Body(d))
}
