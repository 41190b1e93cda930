package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// hangingServer returns the address of a TCP server that accepts
// connections and never answers, as a Redis that hangs would.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// keyStoreCalls are every call of a KeyStore that reaches Redis.
var keyStoreCalls = []struct {
	name string
	call func(ctx context.Context, s *redisstore.KeyStore) error
}{
	{"Get", func(ctx context.Context, s *redisstore.KeyStore) error { _, err := s.Get(ctx, "key_a"); return err }},
	{"Lookup", func(ctx context.Context, s *redisstore.KeyStore) error {
		_, err := s.Lookup(ctx, keys.Digest{})
		return err
	}},
	{"Create", func(ctx context.Context, s *redisstore.KeyStore) error {
		return s.Create(ctx, rec(1, "key_a", "alice"))
	}},
	{"Update", func(ctx context.Context, s *redisstore.KeyStore) error {
		_, err := s.Update(ctx, "key_a", func(r *keys.Record) error { r.RevokedAt = time.Now(); return nil })
		return err
	}},
	{"Delete", func(ctx context.Context, s *redisstore.KeyStore) error { return s.Delete(ctx, "key_a") }},
	{"DeleteOwner", func(ctx context.Context, s *redisstore.KeyStore) error {
		_, err := s.DeleteOwner(ctx, "alice")
		return err
	}},
	{"List", func(ctx context.Context, s *redisstore.KeyStore) error {
		_, err := s.List(ctx, keys.ListQuery{})
		return err
	}},
}

// TestKeyStoreTimeoutHangingServer: against a server that accepts and never
// answers, every call returns a deadline error by its Timeout (plus
// scheduling slack), whether or not the client applies context deadlines
// to its sockets (go-redis would otherwise wait out its ReadTimeout, 3 s);
// and Subscribe returns too.
func TestKeyStoreTimeoutHangingServer(t *testing.T) {
	const timeout = 50 * time.Millisecond
	const slack = 450 * time.Millisecond
	addr := hangingServer(t)
	for _, aware := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", aware), func(t *testing.T) {
			c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: aware})
			t.Cleanup(func() { c.Close() })
			s := newKeyStoreWith(t, c, &redisstore.KeyStoreOptions{Timeout: timeout})
			for _, tc := range keyStoreCalls {
				start := time.Now()
				err := tc.call(t.Context(), s)
				took := time.Since(start)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: got %v; want a deadline error", tc.name, err)
				}
				if took > timeout+slack {
					t.Errorf("%s returned after %v; want about %v", tc.name, took, timeout)
				}
			}
			start := time.Now()
			if err := s.Subscribe(t.Context(), newManager(t, s)); err != nil {
				t.Errorf("Subscribe: %v; want nil (it keeps trying)", err)
			}
			if took := time.Since(start); took > timeout+slack {
				t.Errorf("Subscribe returned after %v; want about %v", took, timeout)
			}
		})
	}
}

// TestKeyStoreTimeoutStoppedServer: with Redis down, calls fail fast.
func TestKeyStoreTimeoutStoppedServer(t *testing.T) {
	own := ownServer(t)
	s := newKeyStoreWith(t, own.Client(t), &redisstore.KeyStoreOptions{Timeout: 50 * time.Millisecond})
	own.Stop()
	for _, tc := range keyStoreCalls {
		start := time.Now()
		if err := tc.call(t.Context(), s); err == nil || errors.Is(err, keys.ErrNotFound) {
			t.Errorf("%s with Redis down: %v; want a failure of the store", tc.name, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s with Redis down took %v", tc.name, took)
		}
	}
}

// TestKeyStoreTimeoutHonoursCaller: a caller's earlier deadline wins.
func TestKeyStoreTimeoutHonoursCaller(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: hangingServer(t)})
	t.Cleanup(func() { c.Close() })
	s := newKeyStoreWith(t, c, &redisstore.KeyStoreOptions{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Get(ctx, "key_a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get: %v; want a deadline error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Get with a 20ms context and a minute's Timeout took %v", took)
	}
}

func TestNewKeyStoreOptions(t *testing.T) {
	single := newClient(t)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { cluster.Close() })
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": srv.Addr}})
	t.Cleanup(func() { ring.Close() })
	for _, tc := range []struct {
		name   string
		client redis.UniversalClient
		opts   *redisstore.KeyStoreOptions
		field  string // named in the error; "" for none
	}{
		{"nil options", single, nil, ""},
		{"timeout", single, &redisstore.KeyStoreOptions{Timeout: time.Millisecond}, ""},
		{"negative timeout", single, &redisstore.KeyStoreOptions{Timeout: -1}, "KeyStoreOptions.Timeout"},
		{"sub-millisecond timeout", single, &redisstore.KeyStoreOptions{Timeout: time.Microsecond}, "KeyStoreOptions.Timeout"},
		{"resync disabled", single, &redisstore.KeyStoreOptions{ResyncInterval: -1}, ""},
		{"sub-millisecond resync", single, &redisstore.KeyStoreOptions{ResyncInterval: time.Microsecond}, "KeyStoreOptions.ResyncInterval"},
		{"untagged prefix, one server", single, &redisstore.KeyStoreOptions{Prefix: "app:keys:"}, ""},
		{"default prefix, cluster", cluster, nil, ""},
		{"tagged prefix, cluster", cluster, &redisstore.KeyStoreOptions{Prefix: "app:{keys}:"}, ""},
		{"untagged prefix, cluster", cluster, &redisstore.KeyStoreOptions{Prefix: "app:keys:"}, "KeyStoreOptions.Prefix"},
		{"empty tag, cluster", cluster, &redisstore.KeyStoreOptions{Prefix: "{}keys:"}, "KeyStoreOptions.Prefix"},
		{"untagged prefix, ring", ring, &redisstore.KeyStoreOptions{Prefix: "app:keys:"}, "KeyStoreOptions.Prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisstore.NewKeyStore(tc.client, tc.opts)
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("got %v; want nil", err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field)):
				t.Errorf("got %v; want an error naming %s", err, tc.field)
			}
		})
	}
	if p := redisstore.DefaultKeyPrefix; !strings.HasPrefix(p, "{") || !strings.Contains(p, "}") {
		t.Errorf("DefaultKeyPrefix %q has no hash tag", p)
	}
}

// BenchmarkKeyStoreGet measures a Get with each kind of client: one that
// applies context deadlines to its sockets, called inline, and one that
// does not, whose calls the store runs in a goroutine to keep its Timeout.
func BenchmarkKeyStoreGet(b *testing.B) {
	for _, aware := range []bool{false, true} {
		b.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", aware), func(b *testing.B) {
			c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: aware})
			b.Cleanup(func() { c.Close() })
			s, err := redisstore.NewKeyStore(c, &redisstore.KeyStoreOptions{Prefix: redistest.Prefix(b)})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Create(b.Context(), rec(1, "key_a", "alice")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(b.Context(), "key_a"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
