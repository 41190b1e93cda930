package apierror

import (
	"net/http/httptest"
	"testing"
)

func TestBodies(t *testing.T) {
	b := Body{Status: 404, Type: "T", Param: "model", Code: "model_not_found", Message: `say "hi"`}
	for _, tc := range []struct{ name, got, want string }{
		{"openai", string(b.OpenAI()), `{"error":{"message":"say \"hi\"","type":"T","param":"model","code":"model_not_found"}}` + "\n"},
		{"openai nulls", string(Body{Type: "T", Message: "m"}.OpenAI()), `{"error":{"message":"m","type":"T","param":null,"code":null}}` + "\n"},
		{"anthropic", string(b.Anthropic()), `{"type":"error","error":{"type":"T","message":"say \"hi\""}}` + "\n"},
		{"gemini", string(b.Gemini()), `{"error":{"code":404,"message":"say \"hi\"","status":"T"}}` + "\n"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s; want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestWriteKeepsHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Retry-After", "3")
	w.Header().Set("Content-Length", "999")
	Write(w, 429, []byte("{}\n"))
	if w.Code != 429 || w.Header().Get("Retry-After") != "3" || w.Header().Get("Content-Length") != "" ||
		w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Body.String() != "{}\n" {
		t.Errorf("got %d %v %q", w.Code, w.Header(), w.Body)
	}
}
