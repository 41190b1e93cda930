package redact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

func TestSecretNeverPrints(t *testing.T) {
	const v = "sk-live-very-secret"
	s := redact.NewSecret(v)
	holder := struct {
		Key redact.Secret `json:"key"`
		Ptr *redact.Secret
	}{s, &s}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s, "holder", holder)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s)
	j, _ := json.Marshal(holder)
	for _, out := range []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder, holder, &holder), string(j), logs.String(),
	} {
		if strings.Contains(out, v) || strings.Contains(out, "secret-") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != v {
		t.Errorf("Reveal = %q; want %q", s.Reveal(), v)
	}
	if !redact.NewSecret("").IsZero() || s.IsZero() {
		t.Error("IsZero wrong")
	}
}
