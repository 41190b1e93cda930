package wicket_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wicket-gw/wicket"
)

func TestTLSConfig(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, tls.CipherSuiteName(r.TLS.CipherSuite))
	}))
	cfg := wicket.TLSConfig()
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x; want TLS 1.2", cfg.MinVersion)
	}
	for _, c := range tls.InsecureCipherSuites() {
		for _, s := range cfg.CipherSuites {
			if c.ID == s {
				t.Errorf("insecure suite %s allowed", c.Name)
			}
		}
	}
	for _, s := range cfg.CipherSuites {
		if name := tls.CipherSuiteName(s); !strings.Contains(name, "ECDHE") || strings.Contains(name, "CBC") {
			t.Errorf("suite %s: want ECDHE with an AEAD", name)
		}
	}
	// A modern client gets TLS 1.3; a TLS 1.2 client an ECDHE AEAD suite;
	// a TLS 1.1 client nothing.
	for _, tc := range []struct {
		max  uint16
		want uint16
		ok   bool
	}{{tls.VersionTLS13, tls.VersionTLS13, true}, {tls.VersionTLS12, tls.VersionTLS12, true}, {tls.VersionTLS11, 0, false}} {
		client := srv.Client()
		tr := client.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.MaxVersion = tc.max
		tr.TLSClientConfig.MinVersion = tls.VersionTLS10
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if !tc.ok {
			if err == nil {
				resp.Body.Close()
				t.Errorf("a client limited to %x connected", tc.max)
			}
			continue
		}
		if err != nil {
			t.Fatalf("max %x: %v", tc.max, err)
		}
		resp.Body.Close()
		if resp.TLS.Version != tc.want {
			t.Errorf("max %x: negotiated %x; want %x", tc.max, resp.TLS.Version, tc.want)
		}
	}
}

func TestHSTS(t *testing.T) {
	h := wicket.HSTS(365*24*time.Hour, true)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	plain := httptest.NewServer(h)
	defer plain.Close()
	resp, err := tlsSrv.Client().Get(tlsSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("over TLS: %q", got)
	}
	resp, err = plain.Client().Get(plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("over plain HTTP: %q; want none", got)
	}
}

// TestSlowloris: with NewServer's settings, connections that send their
// headers one byte a second are closed once ServerReadHeaderTimeout has
// passed, while normal requests are served all along.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ServerReadHeaderTimeout")
	}
	t.Parallel()
	srv := wicket.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	const slow = 20
	start := time.Now()
	closedAfter := make([]time.Duration, slow)
	var wg sync.WaitGroup
	for i := range slow {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer conn.Close()
			msg := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
			for j := 0; j < len(msg); j++ {
				if _, err := conn.Write([]byte{msg[j]}); err != nil {
					break
				}
				// The server closing the connection shows as a read that
				// returns at once; wait a second otherwise.
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break
				}
			}
			closedAfter[i] = time.Since(start)
		})
	}
	// Normal requests go through meanwhile.
	client := &http.Client{Timeout: 2 * time.Second}
	for range 5 {
		resp, err := client.Get("http://" + ln.Addr().String())
		if err != nil {
			t.Fatalf("a normal request failed during the attack: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("normal request: %q", body)
		}
		time.Sleep(time.Second)
	}
	wg.Wait()
	for i, d := range closedAfter {
		if d < wicket.ServerReadHeaderTimeout-time.Second || d > wicket.ServerReadHeaderTimeout+3*time.Second {
			t.Errorf("slow connection %d closed after %v; want about %v", i, d, wicket.ServerReadHeaderTimeout)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
