package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/providers/fake"
)

// startTestChild starts the proxies' child in front of a fake upstream
// and stops it when the test ends; the child's stderr goes to the test's.
func startTestChild(t *testing.T, bound time.Duration) *child {
	t.Helper()
	upstream, err := serve(fake.Handler(&fake.Options{Chunks: answerWords}), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(upstream.Close)
	c, err := startChild(upstream.URL, "", false, bound, os.Stderr)
	if err != nil {
		t.Fatalf("startChild: %v", err)
	}
	t.Cleanup(func() { c.stop() })
	return c
}

// exitedWithin waits up to d for c to exit and returns how it exited, or
// fails the test.
func exitedWithin(t *testing.T, c *child, d time.Duration) error {
	t.Helper()
	select {
	case <-c.exited:
		return c.waitErr
	case <-time.After(d):
		t.Fatalf("the child is still running %v later", d)
		return nil
	}
}

// TestChild starts the proxies' child, loads both of its targets from
// this process, and checks the readings of its control endpoint: the
// child is another process, with its own GOMAXPROCS, and takes the
// readings itself; each target's
// connections are counted; the child's CPU and allocations grow with the
// load, by more than a proxy hop's worth a request; wicket settles once
// every request is metered; then the child exits by itself, with status
// 0, when its stdin is closed.
func TestChild(t *testing.T) {
	c := startTestChild(t, time.Minute)
	if c.hello.PID == os.Getpid() || c.hello.PID <= 0 || c.hello.GOMAXPROCS < 1 || c.hello.NumCPU < 1 {
		t.Errorf("hello = %+v; want another process, GOMAXPROCS and CPUs", c.hello)
	}
	whole, stream := bodies()
	for _, tg := range []struct {
		name, url, key string
		body           []byte
	}{
		{bareName, c.hello.Bare, "unused", whole},
		{wicketName, c.hello.Wicket, c.hello.Key, stream},
	} {
		before, err := c.before(tg.name)
		if err != nil {
			t.Fatalf("before %s: %v", tg.name, err)
		}
		const requests, clients = 200, 2
		r := load(tg.url, tg.key, tg.body, time.Minute, clients, requests)
		if r.requests != requests || r.failures != 0 {
			t.Fatalf("%s: %d requests answered, %d failed (%s); want %d answered", tg.name, r.requests, r.failures, r.failure, requests)
		}
		after, err := c.after(tg.name, requests)
		if err != nil {
			t.Fatalf("after %s: %v", tg.name, err)
		}
		use := after.since(before)
		if before.PID != c.hello.PID || after.PID != c.hello.PID {
			t.Errorf("%s: readings taken by processes %d and %d; want the child, %d", tg.name, before.PID, after.PID, c.hello.PID)
		}
		if !after.Settled {
			t.Errorf("%s did not settle", tg.name)
		}
		if n := after.Accepted - before.Accepted; n != clients {
			t.Errorf("%s accepted %d connections; want %d, one a client", tg.name, n, clients)
		}
		if use.mallocs < 20*requests || use.bytes == 0 {
			t.Errorf("%s: the child allocated %d times, %d bytes, for %d requests; want at least 20 times a request", tg.name, use.mallocs, use.bytes, requests)
		}
		if _, known := processCPU(); known && (use.cpuUnknown || use.cpu <= 0) {
			t.Errorf("%s: the child's CPU %v (unknown %v); want > 0", tg.name, use.cpu, use.cpuUnknown)
		}
	}
	if err := c.stop(); err != nil {
		t.Errorf("stop: the child exited with %v; want status 0, by itself", err)
	}
	if s := c.cmd.ProcessState; s == nil || !s.Exited() {
		t.Errorf("after stop the child's state is %v; want exited", s)
	}
}

// TestChildQuit tells the child to quit through its control endpoint: it
// exits, with status 0, while its stdin is still open.
func TestChildQuit(t *testing.T) {
	c := startTestChild(t, time.Minute)
	if err := c.quit(); err != nil {
		t.Fatalf("quit: %v", err)
	}
	if err := exitedWithin(t, c, 20*time.Second); err != nil {
		t.Errorf("the child exited with %v; want status 0", err)
	}
}

// TestChildBound checks the backstop: a child still running when its
// bound has passed is killed.
func TestChildBound(t *testing.T) {
	c := startTestChild(t, 3*time.Second)
	err := exitedWithin(t, c, 30*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Exited() {
		t.Errorf("the child exited with %v; want killed by a signal", err)
	}
}

// TestChildControlErrors checks that the control endpoint refuses an
// unknown target and a bad count, and that the harness reports it.
func TestChildControlErrors(t *testing.T) {
	c := startTestChild(t, time.Minute)
	if _, err := c.before("nginx"); err == nil || !strings.Contains(err.Error(), `unknown target "nginx"`) {
		t.Errorf("before an unknown target: error %v; want one naming it", err)
	}
	if _, err := c.after(wicketName, -1); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("after with a negative count: error %v; want a 400", err)
	}
	if _, err := c.read("GET", "/after?target=bare&answered=x"); err == nil {
		t.Errorf("after with no count: got no error; want one")
	}
}

// TestChildRefusesRemoteUpstream starts a child in front of an upstream
// off loopback: it refuses, and startChild reports that it exited before
// its hello, having waited for it.
func TestChildRefusesRemoteUpstream(t *testing.T) {
	var stderr bytes.Buffer
	c, err := startChild("http://192.0.2.1:80", "", false, time.Minute, &stderr)
	if err == nil {
		c.stop()
		t.Fatalf("startChild: got no error; want one")
	}
	if !strings.Contains(err.Error(), "exited before its hello (exit status 1)") {
		t.Errorf("startChild: error %v; want the child's exit before its hello", err)
	}
	if !strings.Contains(stderr.String(), childEnv+" must be an http URL on 127.0.0.1") {
		t.Errorf("the child's stderr %q; want it to name %s", stderr.String(), childEnv)
	}
}

// TestFirstLine writes the child's stdout in pieces: the first line is
// handed over whole, without its line break, once; the rest is discarded;
// a line that does not end is handed over at maxHello bytes.
func TestFirstLine(t *testing.T) {
	f := &firstLine{line: make(chan []byte, 1)}
	for _, p := range []string{`{"bare":`, `"x"}`, "\n{\"more\"", "\nmore\n"} {
		if n, err := f.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", p, n, err, len(p))
		}
	}
	select {
	case got := <-f.line:
		if string(got) != `{"bare":"x"}` {
			t.Errorf("first line %q; want %q", got, `{"bare":"x"}`)
		}
	default:
		t.Fatalf("no first line handed over")
	}
	if len(f.line) != 0 {
		t.Errorf("%d more lines handed over; want none", len(f.line))
	}

	long := &firstLine{line: make(chan []byte, 1)}
	chunk := bytes.Repeat([]byte("x"), 1000)
	for range maxHello/len(chunk) + 2 {
		long.Write(chunk)
	}
	select {
	case got := <-long.line:
		if len(got) < maxHello || len(got) > maxHello+len(chunk) {
			t.Errorf("an unended line handed over at %d bytes; want about %d", len(got), maxHello)
		}
	default:
		t.Errorf("an unended line of more than %d bytes was not handed over", maxHello)
	}
}

// TestRunBound checks that the child's backstop leaves room for every
// load, its request timeout and settle wait, and grows with the kinds and
// the duration.
func TestRunBound(t *testing.T) {
	small, err := newConfig(time.Second, 4, 100, "one-conn")
	if err != nil {
		t.Fatal(err)
	}
	all, err := newConfig(10*time.Second, 4, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	loads := 4 + 4*len(all.kinds)
	if least := time.Duration(loads)*(requestTimeout+settleTimeout) + 2*time.Duration(len(all.kinds))*all.duration; runBound(all) < least {
		t.Errorf("runBound = %v; want at least %v", runBound(all), least)
	}
	if runBound(small) >= runBound(all) {
		t.Errorf("runBound: %v for one kind of 1s, %v for all of 10s; want it to grow", runBound(small), runBound(all))
	}
}
