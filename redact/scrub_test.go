package redact_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/redact"
)

const querySecret = "AIzaSyQUERYq3xVb7NnP0rT9sKd2LmWc5YhJ8aE"

// deadURL returns the URL of a server that has stopped listening.
func deadURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

func assertScrubbed(t *testing.T, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("scrubbed error %q contains %q", msg, s)
		}
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("scrubbed error unwraps to %v; want nil", errors.Unwrap(err))
	}
	if again := redact.ScrubError(err); again != err {
		t.Errorf("ScrubError of a scrubbed error = %v; want it unchanged", again)
	}
}

func TestScrubErrorURLErrorFromClient(t *testing.T) {
	u := strings.Replace(deadURL(t), "http://", "http://bob:hunter2@", 1) + "/v1beta/models/m:streamGenerateContent?alt=sse&key=" + querySecret + "#frag"
	_, err := http.Get(u)
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), querySecret) {
		t.Fatalf("http.Get error = %v; want a *url.Error carrying the query", err)
	}
	s := redact.ScrubError(err)
	assertScrubbed(t, s, querySecret, "hunter2", "bob", "alt=sse", "frag", "?")
	if !strings.HasPrefix(s.Error(), `Get "http://127.0.0.1:`) || !strings.Contains(s.Error(), `/v1beta/models/m:streamGenerateContent": `) {
		t.Errorf("scrubbed = %q; want Op, scheme, host and path kept", s)
	}
	if !errors.Is(s, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(scrubbed, ECONNREFUSED) = false; want true (original: %v)", err)
	}
	if errors.As(s, &ue) {
		t.Error("errors.As(scrubbed, *url.Error) = true; want false: it would hand out the original")
	}
}

func TestScrubErrorKeepsTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/x?key="+querySecret, nil)
		_, err := srv.Client().Do(req)
		if err == nil {
			t.Fatal("request succeeded; want a deadline error")
		}
		s := redact.ScrubError(fmt.Errorf("upstream openai: %w", err))
		assertScrubbed(t, s, querySecret, "key=")
		if !errors.Is(s, context.DeadlineExceeded) {
			t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false; want true", s)
		}
		var ne net.Error
		if !errors.As(s, &ne) || !ne.Timeout() {
			t.Errorf("errors.As(%v, net.Error) with Timeout() = false; want true", s)
		}
		if ne != s {
			t.Error("errors.As found an error in the chain other than the scrubbed one")
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		c := srv.Client()
		c.Timeout = 20 * time.Millisecond
		_, err := c.Get(srv.URL + "/v1/x?key=" + querySecret)
		if err == nil {
			t.Fatal("request succeeded; want a timeout")
		}
		s := redact.ScrubError(err)
		assertScrubbed(t, s, querySecret)
		var ne net.Error
		if !errors.As(s, &ne) || !ne.Timeout() {
			t.Errorf("errors.As(%v, net.Error) with Timeout() = false; want true", s)
		}
	})
}

var errSentinel = errors.New("upstream refused")

type panicky struct{}

func (*panicky) Error() string { panic("boom") }

func TestScrubError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		want    string
		is      error
		timeout bool
	}{
		{"key in text", errors.New("invalid x-api-key: " + anthropicKey), "invalid x-api-key: [redacted]", nil, false},
		{"key shape in text", fmt.Errorf("%w: key %s", errSentinel, openAIKey), "upstream refused: key sk-proj-…w7Tz", errSentinel, false},
		{"wrapped url.Error", fmt.Errorf("gemini: %w", &url.Error{Op: "Post", URL: "https://g.example/v1beta/m?key=" + querySecret, Err: io.ErrUnexpectedEOF}),
			`gemini: Post "https://g.example/v1beta/m": unexpected EOF`, io.ErrUnexpectedEOF, false},
		{"url.Error with unparsable URL", &url.Error{Op: "Get", URL: "http://[::1%zz/?key=" + querySecret, Err: errSentinel},
			`Get "http://[::1%zz/": upstream refused`, errSentinel, false},
		{"url.Error inner error with a URL", &url.Error{Op: "Get", URL: "/rel?key=" + querySecret, Err: errors.New("redirect to https://u:p@x.example/?token=abc")},
			`Get "/rel": redirect to https://[redacted]@x.example/`, nil, false},
		{"canceled", fmt.Errorf("upstream: %w", context.Canceled), "upstream: context canceled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, "context deadline exceeded", context.DeadlineExceeded, true},
		{"joined", errors.Join(errSentinel, errors.New("GET https://h.example/p?key=abc: EOF")), "upstream refused\nGET https://h.example/p: EOF", errSentinel, false},
		{"panicking Error", &panicky{}, "[error text unavailable: Error panicked]", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := redact.ScrubError(tc.err)
			if s.Error() != tc.want {
				t.Errorf("ScrubError(…).Error() = %q; want %q", s.Error(), tc.want)
			}
			assertScrubbed(t, s, querySecret, anthropicKey, openAIKey[8:40])
			if tc.is != nil && !errors.Is(s, tc.is) {
				t.Errorf("errors.Is(scrubbed, %v) = false; want true", tc.is)
			}
			if errors.Is(s, errors.New("other")) {
				t.Error("errors.Is(scrubbed, a new error) = true; want false")
			}
			var ne net.Error
			if got := errors.As(s, &ne) && ne.Timeout(); got != tc.timeout {
				t.Errorf("net.Error timeout = %v; want %v", got, tc.timeout)
			}
		})
	}
	if redact.ScrubError(nil) != nil {
		t.Error("ScrubError(nil) != nil")
	}
}
