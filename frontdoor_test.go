package wicket_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/openai"
)

// altDoor is a front door of the tests' own: OpenAI's decoding under other
// routes, answering errors in Anthropic's shape, to show that the gateway
// mounts whatever doors it is given and names no route itself.
type altDoor struct{ openai.FrontDoor }

func (altDoor) Dialect() providers.Dialect { return providers.DialectAnthropic }
func (altDoor) Routes() []providers.Route {
	return []providers.Route{
		{Method: "POST", Path: "/alt/chat", Endpoint: providers.EndpointChat},
		{Method: "GET", Path: "/alt/models", Endpoint: providers.EndpointModels},
	}
}

func TestFrontDoorsAreMounted(t *testing.T) {
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("m", up.provider(t, "p"), ""), func(c *wicket.Config) {
		c.FrontDoors = []providers.FrontDoor{openai.FrontDoor{}, altDoor{}}
	})
	auth := map[string]string{"Authorization": "Bearer " + e.key}
	resp := e.do(t, "POST", "/alt/chat", `{"model":"m","messages":[]}`, auth)
	if body := readAll(t, resp); resp.StatusCode != 200 || body != completionFixture {
		t.Errorf("the alternative door's route: %d %s; want the upstream's answer", resp.StatusCode, body)
	}
	if ev := <-e.outcome; ev.Endpoint != "/alt/chat" || ev.Status != 200 {
		t.Errorf("event endpoint %q status %d; want /alt/chat 200", ev.Endpoint, ev.Status)
	}
	resp = e.do(t, "GET", "/alt/models", "", auth)
	var list struct{ Data []struct{ ID string } }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(list.Data) != 1 || list.Data[0].ID != "m" {
		t.Errorf("the alternative door's model list: %d %+v", resp.StatusCode, list)
	}
	// Refusals before decoding answer in the door's dialect, by route.
	resp = e.do(t, "POST", "/alt/chat", `{"model":"m"}`, nil)
	if body := readAll(t, resp); resp.StatusCode != 401 || !strings.Contains(body, `"type":"error"`) || !strings.Contains(body, `"authentication_error"`) {
		t.Errorf("no key on the Anthropic-shaped door: %d %s; want 401 in Anthropic's shape", resp.StatusCode, body)
	}
	resp = e.do(t, "POST", "/v1/chat/completions", `{"model":"m"}`, nil)
	if body := readAll(t, resp); resp.StatusCode != 401 || !strings.HasPrefix(body, `{"error":{"message"`) {
		t.Errorf("no key on OpenAI's door: %d %s; want 401 in OpenAI's shape", resp.StatusCode, body)
	}
	// Two doors may not serve one route.
	_, err := wicket.New(wicket.Config{Keys: e.km, Router: mustRouter(t), FrontDoors: []providers.FrontDoor{openai.FrontDoor{}, openai.FrontDoor{}}})
	if err == nil || !strings.Contains(err.Error(), "FrontDoors") {
		t.Errorf("New with a route served twice: %v; want an error naming FrontDoors", err)
	}
}

func mustRouter(t *testing.T) *providers.Router {
	t.Helper()
	r, err := providers.NewRouter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
