package seal

import "github.com/wicket-gw/wicket/redact"

// SealSecret seals a redact.Secret, such as an upstream provider's API key,
// as Seal does.
func (s *Sealer) SealSecret(secret redact.Secret, owner, purpose string) ([]byte, error) {
	plaintext := []byte(secret.Reveal())
	defer clear(plaintext)
	return s.Seal(plaintext, owner, purpose)
}

// OpenSecret opens what SealSecret sealed and returns it as a
// redact.Secret, ready for a provider's options, which no log or error can
// print. It fails as Open does.
func (s *Sealer) OpenSecret(ciphertext []byte, owner, purpose string) (redact.Secret, error) {
	plaintext, err := s.Open(ciphertext, owner, purpose)
	if err != nil {
		return redact.Secret{}, err
	}
	defer clear(plaintext)
	return redact.NewSecret(string(plaintext)), nil
}
