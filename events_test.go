package wicket_test

import (
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/metering"
)

func TestOneEventPerAuthenticatedRequest(t *testing.T) {
	rec := &meteringtestRecorder{}
	p := &scripted{}
	e := newEnv(t, scriptedModels(p), func(c *wicket.Config) { c.Recorder = rec; c.Prices = perOutputToken(t) })
	auth := map[string]string{"Authorization": "Bearer " + e.key}
	readAll(t, e.do(t, "GET", "/v1/models", "", auth))
	readAll(t, e.do(t, "GET", "/v1/models/nope", "", auth))
	readAll(t, e.do(t, "POST", "/v1/nothing", "{}", auth))
	readAll(t, e.do(t, "POST", "/v1/chat/completions", `{"model":`, auth))
	readAll(t, e.do(t, "POST", "/v1/chat/completions", `{"model":"ok","max_tokens":3}`, auth))
	readAll(t, e.do(t, "POST", "/v1/chat/completions", `{"model":"ok"}`, nil)) // no key: no event
	if err := e.gw.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Endpoint string
		Status   int
		Class    metering.ErrorClass
	}
	var got []row
	for _, ev := range rec.events() {
		if ev.KeyID != e.rec.ID || ev.RequestID == "" {
			t.Errorf("event without the key or request ID: %+v", ev)
		}
		got = append(got, row{ev.Endpoint, ev.Status, ev.ErrorClass})
	}
	want := []row{
		{"/v1/models", 200, ""},
		{"/v1/models/{model...}", 404, metering.ClassInvalidRequest},
		{"", 404, metering.ClassInvalidRequest},
		{"/v1/chat/completions", 400, metering.ClassInvalidRequest},
		{"/v1/chat/completions", 200, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v; want %+v", i, got[i], want[i])
		}
	}
}
