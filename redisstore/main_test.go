package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// srv is the redis-server every test of the package uses, each under its own
// key prefix. It is set once, by TestMain.
var srv *redistest.Server

func TestMain(m *testing.M) {
	s, err := redistest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// newClient returns a client of srv, closed when tb ends.
func newClient(tb testing.TB) *redis.Client { return srv.Client(tb) }
