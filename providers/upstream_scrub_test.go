package providers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestUpstreamErrorScrubsItsCause: the cause an UpstreamError keeps for
// errors.Is holds no URL query, userinfo or key, however it is printed,
// and still matches the sentinels it wrapped.
func TestUpstreamErrorScrubsItsCause(t *testing.T) {
	const key = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"
	raw := &url.Error{Op: "Post", URL: "https://user:pw@generativelanguage.googleapis.com/v1beta/models/m:generateContent?key=" + key,
		Err: fmt.Errorf("dial: %w", context.DeadlineExceeded)}
	ue := NewUpstreamError("gemini", raw)
	if !ue.Timeout || !errors.Is(ue, context.DeadlineExceeded) {
		t.Errorf("timeout %v, Is(DeadlineExceeded) %v; want both", ue.Timeout, errors.Is(ue, context.DeadlineExceeded))
	}
	for _, s := range []string{ue.Error(), ue.Err.Error(), fmt.Sprintf("%+v %#v", ue, ue.Err), errors.Unwrap(ue).Error()} {
		for _, leak := range []string{key, "pw@", "user:", "?key"} {
			if strings.Contains(s, leak) {
				t.Errorf("%q shows %q", s, leak)
			}
		}
	}
}
