// Package apierror writes the error bodies of the API dialects the gateway
// speaks, so that each shape is written in one place: the root and the
// providers through providers.Error, the leaves (keys, ratelimit) and the
// fake upstream directly.
package apierror

import (
	"encoding/json"
	"net/http"
)

// Body is one error, in dialect-neutral terms. Its fields are written to
// the client as they are: they must never carry key material, a URL with a
// query string, or body text.
type Body struct {
	// Status is the HTTP status.
	Status int
	// Type is the dialect's error type (OpenAI's "invalid_request_error",
	// Anthropic's "not_found_error", Gemini's status name "NOT_FOUND").
	Type string
	// Param names the request field at fault; OpenAI only. Empty is null.
	Param string
	// Code is a short machine-readable code; OpenAI only. Empty is null.
	Code string
	// Message is for people.
	Message string
	// RequestID is the request's ID; Anthropic only, as request_id.
	// Empty leaves it out.
	RequestID string
}

// OpenAI returns b as OpenAI writes errors:
// {"error":{"message":…,"type":…,"param":…,"code":…}}, with a newline.
func (b Body) OpenAI() []byte {
	var v struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	v.Error.Message, v.Error.Type = b.Message, b.Type
	if b.Param != "" {
		v.Error.Param = &b.Param
	}
	if b.Code != "" {
		v.Error.Code = &b.Code
	}
	return marshal(v)
}

// Anthropic returns b as Anthropic writes errors:
// {"type":"error","error":{"type":…,"message":…},"request_id":…}, with a
// newline.
func (b Body) Anthropic() []byte {
	var v struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id,omitempty"`
	}
	v.Type, v.Error.Type, v.Error.Message, v.RequestID = "error", b.Type, b.Message, b.RequestID
	return marshal(v)
}

// Gemini returns b as Gemini writes errors:
// {"error":{"code":…,"message":…,"status":…}}, with a newline.
func (b Body) Gemini() []byte {
	var v struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	v.Error.Code, v.Error.Message, v.Error.Status = b.Status, b.Message, b.Type
	return marshal(v)
}

func marshal(v any) []byte {
	out, _ := json.Marshal(v) // plain strings and ints: cannot fail
	return append(out, '\n')
}

// Write answers with status and the JSON body, keeping the headers the
// caller set before (retry-after, rate-limit headers).
func Write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
