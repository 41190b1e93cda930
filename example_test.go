package wicket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
)

func ExampleNew() {
	hasher, _ := keys.NewHasher(keys.Pepper{Version: 1, Secret: bytes.Repeat([]byte{9}, 32)})
	km, _ := keys.NewManager(keys.NewMemoryStore(), hasher, nil)
	router, _ := providers.NewRouter([]providers.Model{
		{Name: "fake-echo", Aliases: []string{"default"}, Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}},
	}, nil)
	gw, err := wicket.New(wicket.Config{Keys: km, Router: router})
	if err != nil {
		panic(err)
	}
	defer gw.Close(context.Background())

	key, _, _ := km.Issue(context.Background(), keys.Spec{Owner: "user-1"})
	r := httptest.NewRequest("POST", "/v1/chat/completions",
		strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"hello wicket"}]}`))
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, r)

	var out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	json.Unmarshal(w.Body.Bytes(), &out)
	fmt.Println(w.Code, out.Choices[0].Message.Content)
	// Output: 200 hello wicket
}

func ExampleGuard() {
	h := wicket.Guard(wicket.GuardOptions{MaxBodyBytes: 16})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := wicket.RequestID(r.Context())
		fmt.Fprintln(w, "gateway's own request id:", strings.HasPrefix(id, "req_"))
	}))
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{}`))
	r.Header.Set("X-Request-Id", "abc-123") // the client's: echoed, never adopted
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body)
	fmt.Println("client's request id:", w.Header().Get("X-Client-Request-Id"))

	r = httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(strings.Repeat("x", 100)))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)
	// Output:
	// gateway's own request id: true
	// client's request id: abc-123
	// 413
}
