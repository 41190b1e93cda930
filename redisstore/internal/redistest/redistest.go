// Package redistest runs a real redis-server for the tests of package
// redisstore: a process of its own on a free loopback port, with no
// persistence, stopped by Close.
package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server. Use [Start]; Close stops it.
type Server struct {
	// Addr is the server's host:port on 127.0.0.1.
	Addr string

	bin  string
	args []string // extra arguments, as given to StartWith
	mu   sync.Mutex
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when the process has exited
	out  *syncBuffer   // the server's log, for error messages
}

// startTimeout bounds the wait for a new server to answer PING.
const startTimeout = 10 * time.Second

// Start starts a redis-server found in PATH on a free loopback port and
// waits until it answers PING. It fails, naming what is missing, when there
// is no redis-server: the tests need one (CI installs it).
func Start() (*Server, error) { return StartWith() }

// StartWith is Start with extra redis-server arguments, such as
// "--cluster-enabled", "yes".
func StartWith(args ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redistest: redis-server not found in PATH; the redisstore tests need a real one (apt-get install redis-server)")
	}
	var last error
	// A port found free can be taken before the server binds it: try again.
	for range 3 {
		s, err := start(bin, args)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func start(bin string, args []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		bin:  bin,
		args: args,
		dir:  dir,
		out:  new(syncBuffer),
	}
	if err := s.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.waitReady(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// run starts the process on s.Addr.
func (s *Server) run() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: starting redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// Stop kills the server, as a crash or an outage would: its data is lost
// (there is no persistence) and its port is closed until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// Pause freezes the server (SIGSTOP): connections stay open and nothing
// is answered, as for a server that hangs or a network that drops packets.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume thaws a paused server (SIGCONT); it answers what it was sent.
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	return cmd.Process.Signal(sig)
}

// Restart starts a stopped server again, empty, on the same address, and
// waits until it answers PING.
func (s *Server) Restart() error {
	var err error
	for range 50 { // the port may linger a moment after the kill
		if err = s.run(); err != nil {
			return err
		}
		if err = s.waitReady(); err == nil {
			return nil
		}
		s.Stop()
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// waitReady polls the server with PING until it answers, it exits, or
// startTimeout passes.
func (s *Server) waitReady() error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: redis-server on %s did not answer PING within %v: %v; log:\n%s", s.Addr, startTimeout, err, s.out)
		}
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case <-done:
			return fmt.Errorf("redistest: redis-server on %s exited before answering PING; log:\n%s", s.Addr, s.out)
		case <-tick.C:
		}
	}
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	s.Stop()
	return os.RemoveAll(s.dir)
}

// Client returns a client of the server, closed when tb ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix no other test uses, even across runs against
// the same server.
func Prefix(tb testing.TB) string {
	return "test:" + tb.Name() + ":" + rand.Text()[:10] + ":"
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
