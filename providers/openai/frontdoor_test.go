package openai_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
)

func TestFrontDoorModels(t *testing.T) {
	var door openai.FrontDoor
	models := []providers.ModelInfo{{ID: "a", OwnedBy: "x"}, {ID: "b/c", OwnedBy: "y"}}
	var list, one providers.Route
	for _, rt := range door.Routes() {
		if rt.Endpoint == providers.EndpointModels {
			if rt.Path == "/v1/models" {
				list = rt
			} else {
				one = rt
			}
		}
	}
	serve := func(rt providers.Route, path string) (*httptest.ResponseRecorder, *providers.Error) {
		mux := http.NewServeMux()
		var perr *providers.Error
		mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) { perr = door.WriteModels(w, r, rt, models) })
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w, perr
	}
	w, err := serve(list, "/v1/models")
	if err != nil || w.Body.String() != `{"object":"list","data":[{"id":"a","object":"model","created":0,"owned_by":"x"},{"id":"b/c","object":"model","created":0,"owned_by":"y"}]}`+"\n" {
		t.Errorf("list: %v %s", err, w.Body)
	}
	w, err = serve(one, "/v1/models/b/c")
	if err != nil || w.Body.String() != `{"id":"b/c","object":"model","created":0,"owned_by":"y"}`+"\n" {
		t.Errorf("one: %v %s", err, w.Body)
	}
	w, err = serve(one, "/v1/models/nope")
	if err == nil || err.Status != 404 || err.Code != "model_not_found" || w.Body.Len() != 0 {
		t.Errorf("unknown: %v %q; want model_not_found and nothing written", err, w.Body)
	}
}
