package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	// helloTimeout bounds the child's start, until its hello.
	helloTimeout = 30 * time.Second
	// stopTimeout bounds the child's exit once its stdin is closed; then
	// it is killed.
	stopTimeout = 10 * time.Second
	// controlTimeout bounds a call to the child's control endpoint, which
	// may wait settleTimeout for a target to settle.
	controlTimeout = settleTimeout + 30*time.Second
	// maxHello bounds the child's hello line.
	maxHello = 64 << 10
)

// child is the proxies' child process (-split), seen from the harness: a
// host whose figures are read from the child's control endpoint.
type child struct {
	hello  hello
	cmd    *exec.Cmd
	stdin  io.Closer
	cancel context.CancelFunc
	client *http.Client
	// exited is closed once the child has exited and waitErr is set.
	exited  chan struct{}
	waitErr error
}

// startChild re-executes this binary as the proxies' child, in front of
// the upstream at upstreamURL, writing a CPU profile of itself to profile
// unless that is empty. The child's stderr goes to stderr. The child is
// killed once bound has passed, if it is still running; it exits by
// itself when its stdin closes, which stop does, or when the harness
// dies. Once startChild has returned a child, the caller must stop it.
func startChild(upstreamURL, profile string, aa bool, bound time.Duration, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	cmd := exec.CommandContext(ctx, exe)
	// Of duplicate keys the last counts: this clears a profile path the
	// harness may have inherited.
	cmd.Env = append(os.Environ(), childEnv+"="+upstreamURL, childProfileEnv+"="+profile, childAAEnv+"="+strconv.FormatBool(aa))
	cmd.Stderr = stderr
	first := &firstLine{line: make(chan []byte, 1)}
	cmd.Stdout = first
	// Once the child is killed, Wait does not wait long for its pipes.
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, cancel: cancel, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	timer := time.NewTimer(helloTimeout)
	defer timer.Stop()
	select {
	case line := <-first.line:
		if err := c.greet(line); err != nil {
			return nil, errors.Join(err, c.stop())
		}
	case <-c.exited:
		how := "exit status 0"
		if err := c.stop(); err != nil {
			how = err.Error()
		}
		return nil, fmt.Errorf("the proxies' child exited before its hello (%s)", how)
	case <-timer.C:
		return nil, errors.Join(fmt.Errorf("the proxies' child said no hello in %v", helloTimeout), c.stop())
	}
	c.client = &http.Client{
		Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true},
		Timeout:   controlTimeout,
	}
	return c, nil
}

// greet reads the child's hello line.
func (c *child) greet(line []byte) error {
	if err := json.Unmarshal(line, &c.hello); err != nil {
		return fmt.Errorf("the proxies' child's hello: %w", err)
	}
	for _, u := range []string{c.hello.Bare, c.hello.Wicket, c.hello.Control} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			return fmt.Errorf("the proxies' child's hello: %q is not on 127.0.0.1", u)
		}
	}
	return nil
}

// stop closes the child's stdin, which makes it exit, and waits for it to
// exit, killing it after stopTimeout. It returns how the child exited.
func (c *child) stop() error {
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
	c.stdin.Close()
	kill := time.AfterFunc(stopTimeout, c.cancel)
	<-c.exited
	kill.Stop()
	c.cancel()
	return c.waitErr
}

// before collects the harness's garbage too, as the one-process mode
// does, so that the clients' latencies do not pay for another run's.
func (c *child) before(name string) (reading, error) {
	runtime.GC()
	return c.read(http.MethodGet, "/before?target="+url.QueryEscape(name))
}

func (c *child) after(name string, answered int64) (reading, error) {
	return c.read(http.MethodGet, fmt.Sprintf("/after?target=%s&answered=%d", url.QueryEscape(name), answered))
}

// quit tells the child to exit.
func (c *child) quit() error {
	_, err := c.read(http.MethodPost, "/quit")
	return err
}

// read calls the child's control endpoint and decodes its reading, if
// any.
func (c *child) read(method, path string) (reading, error) {
	var rd reading
	req, err := http.NewRequest(method, c.hello.Control+path, nil)
	if err != nil {
		return rd, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return rd, fmt.Errorf("the proxies' child's control endpoint: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
			return rd, fmt.Errorf("the proxies' child's control endpoint: %w", err)
		}
	case http.StatusNoContent:
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return rd, fmt.Errorf("the proxies' child's control endpoint: %s %s: %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status, bytes.TrimSpace(msg))
	}
	return rd, nil
}

// firstLine is the child's stdout: it sends the first line written to it,
// without its line break, on line (or the first maxHello bytes, if no
// line break comes by then), and discards the rest.
type firstLine struct {
	buf  []byte
	sent bool
	// line has room for the one line.
	line chan []byte
}

func (f *firstLine) Write(p []byte) (int, error) {
	if f.sent {
		return len(p), nil
	}
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		f.buf = append(f.buf, p[:i]...)
	} else if f.buf = append(f.buf, p...); len(f.buf) < maxHello {
		return len(p), nil
	}
	f.sent = true
	f.line <- f.buf
	return len(p), nil
}
