package translate

import (
	"net/http"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
)

// Request returns req as the deployment of call receives it: for call's
// upstream model, streamed or not as call is, and with the output cap the
// gateway must enforce when req sets none.
func Request(call *providers.Call, req *canon.Request) canon.Request {
	r := *req
	r.Model, r.Stream = call.UpstreamModel, call.Stream
	if call.EnforceMaxOutput > 0 && r.MaxOutputTokens == nil {
		n := call.EnforceMaxOutput
		r.MaxOutputTokens = &n
	}
	return r
}

// NotTranslated returns the error a front door answers, in its dialect,
// for a call to an endpoint it does not translate: 501.
func NotTranslated() *providers.Error {
	return &providers.Error{Status: http.StatusNotImplemented, Code: "translation_not_supported",
		Message: "This endpoint cannot be served by a deployment that speaks another API dialect."}
}
