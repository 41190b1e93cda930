package wicket_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

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

// Serving the gateway in production: the server settings that close
// slowloris connections and bound every phase of a request but streams,
// TLS with modern parameters, and HSTS on every answer.
func ExampleNewServer() {
	var gw http.Handler = http.NotFoundHandler() // a *wicket.Gateway
	mux := http.NewServeMux()
	mux.Handle("/", wicket.HSTS(365*24*time.Hour, true)(gw))

	srv := wicket.NewServer(mux) // header, read and idle time-outs, a header cap, TLSConfig()
	srv.Addr = ":8443"
	fmt.Println(srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout, srv.MaxHeaderBytes)
	fmt.Println(srv.TLSConfig.MinVersion == tls.VersionTLS12)
	// In main: log.Fatal(srv.ListenAndServeTLS("cert.pem", "key.pem"))

	// Output:
	// 10s 2m0s 2m0s 0s 65536
	// true
}
