package keys_test

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

type adminEnv struct {
	fx       *fixture
	srv      *httptest.Server
	adminKey string
}

func newAdminEnv(t *testing.T) *adminEnv {
	fx := newFixture(t, nil)
	adminKey, _ := fx.issue(t, keys.Spec{Owner: "ops", Role: keys.RoleAdmin})
	srv := httptest.NewServer(http.StripPrefix("/admin", keys.NewAdmin(fx.m, nil)))
	t.Cleanup(srv.Close)
	return &adminEnv{fx: fx, srv: srv, adminKey: adminKey}
}

// call makes a request and returns the status and raw body.
func (e *adminEnv) call(t *testing.T, key, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, e.srv.URL+"/admin"+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type issuedResp struct {
	Key      string       `json:"key"`
	Record   keys.Record  `json:"record"`
	Previous *keys.Record `json:"previous"`
}

func (e *adminEnv) create(t *testing.T, spec string) issuedResp {
	t.Helper()
	status, body := e.call(t, e.adminKey, "POST", "/keys", spec)
	if status != 201 {
		t.Fatalf("create: status %d: %s", status, body)
	}
	var out issuedResp
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAdminCreateGetListRevoke(t *testing.T) {
	e := newAdminEnv(t)
	c := e.create(t, `{"owner":"alice","name":"ci","scopes":{"models":["gpt-4o*"]},"allowed_ips":["10.0.0.0/8","2001:db8::/32"],
		"limits":{"requests_per_minute":60},"budget":{"limit_micros":5000000,"period":"monthly"},"metadata":{"team":"a"}}`)
	if err := e.fx.m.Format().Parse(c.Key); err != nil {
		t.Fatalf("created key does not parse: %v", err)
	}
	r := c.Record
	if r.Owner != "alice" || r.Name != "ci" || r.Role != keys.RoleUser || r.Limits.RequestsPerMinute != 60 ||
		r.Budget.LimitMicros != 5_000_000 || r.Budget.Period != keys.PeriodMonthly || len(r.AllowedIPs) != 2 ||
		r.Hint != "wk_…"+c.Key[len(c.Key)-4:] || !strings.HasPrefix(r.ID, "key_") {
		t.Errorf("record %+v", r)
	}
	status, body := e.call(t, e.adminKey, "GET", "/keys/"+r.ID, "")
	if status != 200 || strings.Contains(string(body), c.Key) || strings.Contains(string(body), c.Key[3:]) {
		t.Fatalf("get: %d %s", status, body)
	}
	rec, _ := e.fx.m.Get(t.Context(), r.ID)
	dhex, _ := rec.Digest.MarshalText()
	if strings.Contains(string(body), string(dhex)) || strings.Contains(strings.ToLower(string(body)), hex.EncodeToString(rec.Digest[:4])) {
		t.Fatalf("get response carries the digest: %s", body)
	}
	status, body = e.call(t, e.adminKey, "GET", "/keys?owner=alice", "")
	var list struct {
		Data    []keys.Record `json:"data"`
		HasMore bool          `json:"has_more"`
	}
	json.Unmarshal(body, &list)
	if status != 200 || len(list.Data) != 1 || list.Data[0].ID != r.ID || list.HasMore {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, body = e.call(t, e.adminKey, "POST", "/keys/"+r.ID+"/revoke", ""); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	// The revoked key is refused at once.
	if status, _ = e.call(t, c.Key, "GET", "/keys", ""); status != 401 {
		t.Errorf("revoked key on the admin API: status %d; want 401", status)
	}
}

func TestAdminPaging(t *testing.T) {
	e := newAdminEnv(t)
	for range 5 {
		e.create(t, `{"owner":"bob"}`)
	}
	var all []string
	after := ""
	for range 5 {
		_, body := e.call(t, e.adminKey, "GET", "/keys?owner=bob&limit=2&after="+after, "")
		var page struct {
			Data    []keys.Record `json:"data"`
			HasMore bool          `json:"has_more"`
		}
		json.Unmarshal(body, &page)
		for _, r := range page.Data {
			all = append(all, r.ID)
		}
		if !page.HasMore {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	if len(all) != 5 {
		t.Errorf("paged through %d keys; want 5", len(all))
	}
}

func TestAdminOwnerIsolation(t *testing.T) {
	e := newAdminEnv(t)
	alice := e.create(t, `{"owner":"alice"}`)
	alice2 := e.create(t, `{"owner":"alice","name":"second"}`)
	bob := e.create(t, `{"owner":"bob"}`)

	// Alice lists only her own keys, even when asking for bob's.
	for _, path := range []string{"/keys", "/keys?owner=bob", "/keys?owner=alice"} {
		status, body := e.call(t, alice.Key, "GET", path, "")
		var list struct {
			Data []keys.Record `json:"data"`
		}
		json.Unmarshal(body, &list)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		for _, r := range list.Data {
			if r.Owner != "alice" {
				t.Errorf("%s: alice saw %s's key", path, r.Owner)
			}
		}
	}
	// Bob's key is invisible to alice: 404 and unchanged.
	for _, c := range []struct{ method, path string }{
		{"GET", "/keys/" + bob.Record.ID},
		{"POST", "/keys/" + bob.Record.ID + "/revoke"},
	} {
		if status, body := e.call(t, alice.Key, c.method, c.path, ""); status != 404 {
			t.Errorf("%s %s by another owner: %d %s; want 404", c.method, c.path, status, body)
		}
	}
	if rec, _ := e.fx.m.Get(t.Context(), bob.Record.ID); !rec.RevokedAt.IsZero() {
		t.Error("bob's key was revoked by alice")
	}
	// Admin-only routes answer 403 to a user key.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/keys", `{"owner":"alice"}`},
		{"POST", "/keys/" + alice2.Record.ID + "/rotate", ""},
		{"DELETE", "/keys/" + alice2.Record.ID, ""},
		{"DELETE", "/owners/bob/keys", ""},
	} {
		if status, _ := e.call(t, alice.Key, c.method, c.path, c.body); status != 403 {
			t.Errorf("%s %s by a user key: %d; want 403", c.method, c.path, status)
		}
	}
	// Alice may revoke her own other key.
	if status, body := e.call(t, alice.Key, "POST", "/keys/"+alice2.Record.ID+"/revoke", ""); status != 200 {
		t.Errorf("revoke own key: %d %s", status, body)
	}
	if _, err := e.fx.m.Verify(t.Context(), alice2.Key, noIP); err == nil {
		t.Error("own revoked key still verifies")
	}
}

func TestAdminRotateAndDelete(t *testing.T) {
	e := newAdminEnv(t)
	c := e.create(t, `{"owner":"carol"}`)
	status, body := e.call(t, e.adminKey, "POST", "/keys/"+c.Record.ID+"/rotate", `{"grace_seconds":3600}`)
	if status != 201 {
		t.Fatalf("rotate: %d %s", status, body)
	}
	var rot issuedResp
	json.Unmarshal(body, &rot)
	if rot.Key == "" || rot.Key == c.Key || rot.Previous == nil || rot.Previous.ReplacedBy != rot.Record.ID {
		t.Fatalf("rotate response %s", body)
	}
	if strings.Contains(string(body), c.Key) {
		t.Error("rotate response contains the old key")
	}
	// The successor is charged to the same account, and the JSON says so.
	if c.Record.AccountID != c.Record.ID {
		t.Errorf("created record: got account_id %q; want its ID %q", c.Record.AccountID, c.Record.ID)
	}
	if rot.Record.AccountID != c.Record.ID || rot.Previous.AccountID != c.Record.ID {
		t.Errorf("rotate response: got account_id %q and previous %q; want %q for both: %s",
			rot.Record.AccountID, rot.Previous.AccountID, c.Record.ID, body)
	}
	if n := strings.Count(string(body), `"account_id":"`+c.Record.ID+`"`); n != 2 {
		t.Errorf("rotate response: got %d account_id members; want 2: %s", n, body)
	}
	if status, body = e.call(t, e.adminKey, "DELETE", "/keys/"+rot.Record.ID, ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if _, err := e.fx.m.Verify(t.Context(), rot.Key, noIP); err == nil {
		t.Error("deleted key still verifies")
	}
	e.create(t, `{"owner":"carol"}`)
	status, body = e.call(t, e.adminKey, "DELETE", "/owners/carol/keys", "")
	if status != 200 || !strings.Contains(string(body), `"deleted":2`) {
		t.Errorf("delete owner: %d %s; want 2 deleted", status, body)
	}
}

func TestAdminBadInput(t *testing.T) {
	e := newAdminEnv(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"not json", "POST", "/keys", `{"owner":`, 400},
		{"unknown field", "POST", "/keys", `{"owner":"a","colour":"red"}`, 400},
		{"wrong type", "POST", "/keys", `{"owner":5}`, 400},
		{"invalid spec", "POST", "/keys", `{"owner":"a","role":"root"}`, 400},
		{"bad cidr", "POST", "/keys", `{"owner":"a","allowed_ips":["10.0.0.0/33"]}`, 400},
		{"too big", "POST", "/keys", `{"owner":"` + strings.Repeat("a", 70<<10) + `"}`, 400},
		{"bad limit", "GET", "/keys?limit=0", "", 400},
		{"unknown id", "GET", "/keys/key_nope", "", 404},
		{"unknown route", "GET", "/nothing", "", 404},
		{"negative grace", "POST", "/keys/key_x/rotate", `{"grace_seconds":-1}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.call(t, e.adminKey, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d; want %d: %s", status, tc.status, body)
			}
			var oe openAIError
			if err := json.Unmarshal(body, &oe); err != nil || oe.Error.Message == "" {
				t.Errorf("error body %s", body)
			}
			if len(tc.body) > 10 && strings.Contains(string(body), tc.body[:10]) && tc.status == 400 && strings.Contains(tc.body, "aaaa") {
				t.Errorf("error echoes the request body")
			}
		})
	}
}
