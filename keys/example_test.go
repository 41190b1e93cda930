package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/wicket-gw/wicket/keys"
)

func ExampleNewFormat() {
	f, err := keys.NewFormat("acme")
	if err != nil {
		panic(err)
	}
	key, _ := f.Generate(nil)
	fmt.Println(len(key), key[:5], f.Parse(key) == nil)
	fmt.Println(f.Parse("acme_not-a-key"))
	// Output:
	// 41 acme_ true
	// keys: malformed API key
}

func ExampleNewManager() {
	// In production the secret comes from the environment or a secret manager.
	secret := bytes.Repeat([]byte{0x42}, keys.MinSecretLen)
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: secret})
	if err != nil {
		panic(err)
	}
	m, err := keys.NewManager(keys.NewMemoryStore(), hasher, &keys.Options{Prefix: "wk"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key, rec, err := m.Issue(ctx, keys.Spec{Owner: "user-1", Scopes: keys.Scopes{Models: []string{"gpt-4o*"}}})
	if err != nil {
		panic(err)
	}
	got, err := m.Verify(ctx, key, netip.Addr{})
	fmt.Println(err, got.ID == rec.ID, got.Scopes.AllowsModel("gpt-4o-mini"), got.Scopes.AllowsModel("o3"))

	m.Revoke(ctx, rec.ID)
	_, err = m.Verify(ctx, key, netip.Addr{})
	fmt.Println(err)
	// Output:
	// <nil> true true false
	// keys: API key revoked
}

func ExampleManager_Middleware() {
	hasher, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{1}, 32)})
	m, _ := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	key, _, _ := m.Issue(context.Background(), keys.Spec{Owner: "user-1"})

	h := m.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, _ := keys.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s", rec.Owner)
	}))

	r := httptest.NewRequest("GET", "/v1/models", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/models", nil))
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 200 hello user-1
	// 401 {"error":{"message":"Missing API key. Send it as 'Authorization: Bearer \u003ckey\u003e'.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}
}

func ExampleNewAdmin() {
	hasher, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{1}, 32)})
	m, _ := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	adminKey, _, _ := m.Issue(context.Background(), keys.Spec{Owner: "ops", Role: keys.RoleAdmin})

	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", keys.NewAdmin(m, nil)))

	r := httptest.NewRequest("POST", "/admin/keys", bytes.NewBufferString(`{"owner":"user-7","name":"ci"}`))
	r.Header.Set("Authorization", "Bearer "+adminKey)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output:
	// 201 application/json
}

func ExampleNewHasher() {
	// Pepper 2 is current; keys stored under pepper 1 still verify and are
	// rehashed under 2 on first use.
	h, err := keys.NewHasher(
		keys.Pepper{Version: 2, Secret: bytes.Repeat([]byte{2}, keys.MinSecretLen)},
		keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{1}, keys.MinSecretLen)},
	)
	if err != nil {
		panic(err)
	}
	d := h.Digest("wk_example")
	fmt.Println(h.Version(), d, d == h.Digest("wk_example"))
	// Output: 2 [digest] true
}

func ExampleNewMemoryStore() {
	s := keys.NewMemoryStore()
	err := s.Create(context.Background(), &keys.Record{ID: "key_1", Owner: "user-1", Role: keys.RoleUser})
	fmt.Println(err)
	recs, _ := s.List(context.Background(), keys.ListQuery{Owner: "user-1"})
	fmt.Println(len(recs), recs[0].ID)
	_, err = s.Get(context.Background(), "key_2")
	fmt.Println(err)
	// Output:
	// <nil>
	// 1 key_1
	// keys: not found
}

func ExampleManager_SecretScanning() {
	hasher, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{0x42}, keys.MinSecretLen)})
	km, _ := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	// GitHub's published signing keys, fetched on first use and refetched
	// (at most once a minute) when a report names one not seen yet.
	scanKeys, err := keys.NewGitHubScanKeys(nil)
	if err != nil {
		panic(err)
	}
	scanning, err := km.SecretScanning(&keys.ScanOptions{Keys: scanKeys})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	// The URL given to GitHub for the partner program.
	mux.Handle("POST /github/secret-scanning", scanning)

	// A report that is not signed is refused before anything is read.
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/github/secret-scanning", bytes.NewReader([]byte(`[{"token":"wk_x","type":"wicket_api_key"}]`)))
	req.Header.Set("Content-Type", "application/json")
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code)
	// Output: 401
}
