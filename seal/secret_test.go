package seal_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wicket-gw/wicket/redact"
	"github.com/wicket-gw/wicket/seal"
)

func TestSealSecretRoundTrip(t *testing.T) {
	s := mustNew(t, key(1), nil, 0)
	ct, err := s.SealSecret(redact.NewSecret("sk-live-xyz"), "tenant-1", "openai")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.OpenSecret(ct, "tenant-1", "openai")
	if err != nil {
		t.Fatal(err)
	}
	if got.Reveal() != "sk-live-xyz" {
		t.Errorf("OpenSecret = %q; want sk-live-xyz", got.Reveal())
	}
	if fmt.Sprint(got) != "[redacted]" {
		t.Errorf("opened secret prints as %q", fmt.Sprint(got))
	}
	// Seal and SealSecret produce the same format.
	if pt, err := s.Open(ct, "tenant-1", "openai"); err != nil || string(pt) != "sk-live-xyz" {
		t.Errorf("Open of SealSecret output = %q, %v", pt, err)
	}
	got, err = s.OpenSecret(ct, "tenant-2", "openai")
	if !errors.Is(err, seal.ErrOpen) || !got.IsZero() {
		t.Errorf("OpenSecret for the wrong owner = %v, %v; want the zero Secret, ErrOpen", got, err)
	}
	empty, err := s.SealSecret(redact.Secret{}, "tenant-1", "openai")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OpenSecret(empty, "tenant-1", "openai"); err != nil || !got.IsZero() {
		t.Errorf("OpenSecret of an empty secret = %v, %v", got, err)
	}
}
