package redact_test

import (
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/redact"
)

func TestSecretNeverPrints(t *testing.T) {
	const v = "sk-live-very-secret"
	s := redact.NewSecret(v)
	for name, out := range printings(t, s) {
		if strings.Contains(out, v) || strings.Contains(out, "very-secret") {
			t.Errorf("%s printed the secret: %s", name, out)
		}
	}
	if got := s.String(); got != "[redacted]" {
		t.Errorf("String() = %q; want [redacted]", got)
	}
	if s.Reveal() != v {
		t.Errorf("Reveal() = %q; want %q", s.Reveal(), v)
	}
}

func TestSecretZeroAndEqual(t *testing.T) {
	var zero redact.Secret
	if !zero.IsZero() || zero.Reveal() != "" || !redact.NewSecret("").IsZero() {
		t.Error("zero Secret: IsZero false or Reveal not empty")
	}
	if zero.String() != "[redacted]" {
		t.Errorf("zero String() = %q; want [redacted]", zero.String())
	}
	a, b, c := redact.NewSecret("abc"), redact.NewSecret("abc"), redact.NewSecret("abd")
	if a.IsZero() {
		t.Error("IsZero() = true for a non-empty Secret")
	}
	if !a.Equal(b) || a.Equal(c) || a.Equal(zero) || !zero.Equal(redact.NewSecret("")) {
		t.Error("Equal: got a wrong answer")
	}
}

func TestSecretHint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{openAIKey, "sk-proj-…w7Tz"},
		{anthropicKey, "sk-ant-…w-AA"},
		{googleKey, "AIza…4fGx"},
		{appKey, "wk_…1uQ6"},
		{"0123456789abcdef0123456789abcdef", "…cdef"},
		{"short-secret", "[redacted]"},
		{"", "[redacted]"},
		{"sk-proj-with spaces and more than enough", "…ough"},
	} {
		if got := redact.NewSecret(tc.in).Hint(); got != tc.want {
			t.Errorf("NewSecret(%q).Hint() = %q; want %q", tc.in, got, tc.want)
		}
	}
}
