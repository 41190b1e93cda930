package providers

import (
	"encoding/json"
	"net/http"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// DecodeOpenAI picks out of an OpenAI-dialect request body what routing
// and limits need, without decoding the rest: model, stream,
// stream_options.include_usage, and the output-token cap (max_tokens or
// max_completion_tokens for chat, max_output_tokens for responses). It
// answers a body that is not a JSON object, or whose picked fields have the
// wrong type, with a 400 *Error naming the field, never quoting the body.
func DecodeOpenAI(endpoint Endpoint, body []byte) (*Request, *Error) {
	req := &Request{Dialect: DialectOpenAI, Endpoint: endpoint, Body: body}
	if !json.Valid(body) {
		return nil, badRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	var perr *Error
	seenModel := false
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("model"):
			s, ok := jsonx.String(m.Value)
			if !ok {
				perr = badRequest("model", "invalid_type", "Invalid type for 'model': expected a string.")
				return false
			}
			req.Model, req.ModelStart, req.ModelEnd, seenModel = s, m.Start, m.End, true
		case m.KeyIs("stream"):
			if jsonx.IsNull(m.Value) {
				break
			}
			b, ok := jsonx.Bool(m.Value)
			if !ok {
				perr = badRequest("stream", "invalid_type", "Invalid type for 'stream': expected a boolean.")
				return false
			}
			req.Stream = b
		case m.KeyIs("stream_options"):
			if jsonx.IsNull(m.Value) {
				break
			}
			v, _, _, ok := jsonx.Get(m.Value, "include_usage")
			if !ok {
				break
			}
			b, ok := jsonx.Bool(v)
			if !ok && !jsonx.IsNull(v) {
				perr = badRequest("stream_options.include_usage", "invalid_type", "Invalid type for 'stream_options.include_usage': expected a boolean.")
				return false
			}
			req.IncludeUsage = b
		case m.KeyIs("max_tokens") && endpoint == EndpointChat,
			m.KeyIs("max_completion_tokens") && endpoint == EndpointChat,
			m.KeyIs("max_output_tokens") && endpoint == EndpointResponses:
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := jsonx.Int(m.Value)
			if !ok || n < 0 {
				perr = badRequest(string(m.Key), "invalid_type", "Invalid value for '"+string(m.Key)+"': expected a non-negative integer.")
				return false
			}
			req.MaxOutputTokens = max(req.MaxOutputTokens, n)
		}
		return true
	})
	if err != nil {
		return nil, badRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	if perr != nil {
		return nil, perr
	}
	if !seenModel || req.Model == "" {
		return nil, badRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	if endpoint == EndpointEmbeddings {
		req.Stream = false
	}
	return req, nil
}

func badRequest(param, code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: code, Message: msg}
}
