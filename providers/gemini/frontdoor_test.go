package gemini

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers"
)

// serveModels routes a GET of target through the door's routes and
// answers it with WriteModels.
func serveModels(t *testing.T, target string, models []providers.ModelInfo) (*httptest.ResponseRecorder, *providers.Error) {
	t.Helper()
	var perr *providers.Error
	matched := false
	mux := http.NewServeMux()
	for _, rt := range (FrontDoor{}).Routes() {
		mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) {
			matched = true
			if rt.Endpoint != providers.EndpointModels {
				t.Fatalf("GET %s matched %s", target, rt.Pattern())
			}
			perr = FrontDoor{}.WriteModels(w, r, rt, models)
		})
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if !matched {
		t.Fatalf("no route matched GET %s", target)
	}
	return w, perr
}

func TestWriteModels(t *testing.T) {
	models := []providers.ModelInfo{{ID: "gemini-2.0-flash", OwnedBy: "google"}, {ID: "team/fast", OwnedBy: "us"}}
	methods := []any{"generateContent", "streamGenerateContent", "countTokens"}
	one := func(id string) map[string]any {
		return map[string]any{"name": "models/" + id, "displayName": id, "supportedGenerationMethods": methods}
	}
	cases := []struct {
		target string
		want   any
	}{
		{"/v1beta/models", map[string]any{"models": []any{one("gemini-2.0-flash"), one("team/fast")}}},
		{"/v1beta/models?pageSize=1&key=k", map[string]any{"models": []any{one("gemini-2.0-flash"), one("team/fast")}}},
		{"/v1beta/models/gemini-2.0-flash", one("gemini-2.0-flash")},
		{"/v1beta/models/models/gemini-2.0-flash", one("gemini-2.0-flash")},
		{"/v1beta/models/team/fast", one("team/fast")},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			w, perr := serveModels(t, tc.target, models)
			if perr != nil {
				t.Fatalf("WriteModels: %v", perr)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var got any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("empty list", func(t *testing.T) {
		w, _ := serveModels(t, "/v1beta/models", nil)
		if got := w.Body.String(); got != "{\"models\":[]}\n" {
			t.Errorf("body %q; want an empty models array", got)
		}
	})
	for _, target := range []string{"/v1beta/models/gemini-1.0-ultra", "/v1beta/models/gemini-2.0-flash:generateContent", "/v1beta/models/"} {
		t.Run("unknown "+target, func(t *testing.T) {
			w, perr := serveModels(t, target, models)
			if perr == nil || perr.Status != http.StatusNotFound || perr.Code != "model_not_found" {
				t.Fatalf("WriteModels: %v; want model_not_found", perr)
			}
			if w.Body.Len() != 0 || len(w.Header()) != 0 {
				t.Errorf("wrote %q with %v; want nothing", w.Body, w.Header())
			}
		})
	}
}

func TestWriteTokenCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{42, `{"totalTokens":42}`}, {0, `{"totalTokens":0}`}, {-3, `{"totalTokens":0}`}} {
		w := httptest.NewRecorder()
		FrontDoor{}.WriteTokenCount(w, &providers.Request{Endpoint: providers.EndpointCountTokens}, tc.n)
		if got := w.Body.String(); got != tc.want+"\n" {
			t.Errorf("WriteTokenCount(%d) = %q; want %q", tc.n, got, tc.want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=UTF-8" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

func TestRoutes(t *testing.T) {
	door := FrontDoor{}
	if door.Dialect() != providers.DialectGemini {
		t.Errorf("Dialect %v", door.Dialect())
	}
	rs := door.Routes()
	rs[0].Path = "/changed"
	if door.Routes()[0].Path == "/changed" {
		t.Error("Routes returned the door's own slice")
	}
	// Every route mounts on one ServeMux without conflict.
	mux := http.NewServeMux()
	for _, rt := range door.Routes() {
		mux.HandleFunc(rt.Pattern(), func(http.ResponseWriter, *http.Request) {})
	}
}
