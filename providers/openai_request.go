package providers

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// MaxChoices is the largest n (answers per chat request) DecodeOpenAI
// accepts, as OpenAI does.
const MaxChoices = 128

// DecodeOpenAI picks out of an OpenAI-dialect request body what routing
// and limits need, without decoding the rest: model, stream,
// stream_options.include_usage, the output-token cap (max_tokens or
// max_completion_tokens for chat, max_output_tokens for responses) and,
// for chat, n. It
// answers a body that is not a JSON object, whose picked fields have the
// wrong type, or that repeats one of them (parsers disagree on which copy
// wins, and the gateway must count what the upstream will act on), with a
// 400 *Error naming the field, never quoting the body.
func DecodeOpenAI(endpoint Endpoint, body []byte) (*Request, *Error) {
	req := &Request{Dialect: DialectOpenAI, Endpoint: endpoint, Body: body, Choices: 1}
	if !json.Valid(body) {
		return nil, badRequest("", "invalid_json", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	var perr *Error
	var seen [numPicked]bool
	once := func(f picked) bool {
		if seen[f] {
			perr = badRequest(pickedNames[f], "duplicate_parameter", "The parameter '"+pickedNames[f]+"' appears more than once.")
			return false
		}
		seen[f] = true
		return true
	}
	err := jsonx.Each(body, func(m jsonx.Member) bool {
		f, ok := pick(m, endpoint)
		if !ok {
			return true
		}
		if !once(f) {
			return false
		}
		switch f {
		case pickModel:
			s, ok := jsonx.String(m.Value)
			if !ok {
				perr = badRequest("model", "invalid_type", "Invalid type for 'model': expected a string.")
				return false
			}
			if !utf8.ValidString(s) {
				perr = badRequest("model", "invalid_value", "Invalid value for 'model': expected valid UTF-8.")
				return false
			}
			req.Model, req.ModelStart, req.ModelEnd = s, m.Start, m.End
		case pickStream:
			if jsonx.IsNull(m.Value) {
				break
			}
			b, ok := jsonx.Bool(m.Value)
			if !ok {
				perr = badRequest("stream", "invalid_type", "Invalid type for 'stream': expected a boolean.")
				return false
			}
			req.Stream = b
		case pickStreamOptions:
			if jsonx.IsNull(m.Value) {
				break
			}
			perr = decodeStreamOptions(m.Value, req)
			if perr != nil {
				return false
			}
		case pickChoices:
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := jsonx.Int(m.Value)
			if !ok || n < 1 || n > MaxChoices {
				perr = badRequest("n", "invalid_value", "Invalid value for 'n': expected an integer from 1 to 128.")
				return false
			}
			req.Choices = n
		default: // an output-token cap
			if jsonx.IsNull(m.Value) {
				break
			}
			n, ok := jsonx.Int(m.Value)
			if !ok || n < 0 {
				name := pickedNames[f]
				perr = badRequest(name, "invalid_type", "Invalid value for '"+name+"': expected a non-negative integer.")
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
	if req.Model == "" {
		return nil, badRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	if endpoint == EndpointEmbeddings {
		req.Stream = false
	}
	return req, nil
}

// picked names the members DecodeOpenAI reads.
type picked uint8

const (
	pickModel picked = iota
	pickStream
	pickStreamOptions
	pickMaxTokens
	pickMaxCompletionTokens
	pickMaxOutputTokens
	pickChoices
	numPicked
)

// pickedNames spells each picked member as the API does, for errors: never
// the raw key from the body, which may be written with escapes.
var pickedNames = [numPicked]string{"model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "max_output_tokens", "n"}

func pick(m jsonx.Member, endpoint Endpoint) (picked, bool) {
	switch {
	case m.KeyIs("model"):
		return pickModel, true
	case m.KeyIs("stream"):
		return pickStream, true
	case m.KeyIs("stream_options"):
		return pickStreamOptions, true
	case endpoint == EndpointChat && m.KeyIs("max_tokens"):
		return pickMaxTokens, true
	case endpoint == EndpointChat && m.KeyIs("max_completion_tokens"):
		return pickMaxCompletionTokens, true
	case endpoint == EndpointResponses && m.KeyIs("max_output_tokens"):
		return pickMaxOutputTokens, true
	case endpoint == EndpointChat && m.KeyIs("n"):
		return pickChoices, true
	}
	return 0, false
}

// decodeStreamOptions reads include_usage, refusing a repeated one.
func decodeStreamOptions(v []byte, req *Request) *Error {
	const name = "stream_options.include_usage"
	count := 0
	var perr *Error
	err := jsonx.Each(v, func(m jsonx.Member) bool {
		if !m.KeyIs("include_usage") {
			return true
		}
		if count++; count > 1 {
			perr = badRequest(name, "duplicate_parameter", "The parameter '"+name+"' appears more than once.")
			return false
		}
		if jsonx.IsNull(m.Value) {
			return true
		}
		b, ok := jsonx.Bool(m.Value)
		if !ok {
			perr = badRequest(name, "invalid_type", "Invalid type for '"+name+"': expected a boolean.")
			return false
		}
		req.IncludeUsage = b
		return true
	})
	if err != nil {
		return badRequest("stream_options", "invalid_type", "Invalid type for 'stream_options': expected an object.")
	}
	return perr
}

func badRequest(param, code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: code, Message: msg}
}
