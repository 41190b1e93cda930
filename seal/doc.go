// Package seal encrypts secrets at rest, such as the upstream provider
// credentials that an application keeps in its own database, and binds each
// ciphertext to the owner and purpose it was sealed for.
//
// A Sealer is made once, at start-up, from a current Key and any previous
// ones:
//
//	s, err := seal.New(seal.Key{Version: 2, Secret: secretV2}, []seal.Key{{Version: 1, Secret: secretV1}}, nil)
//	ct, err := s.Seal([]byte(apiKey), tenantID, "openai api key") // store ct in the tenant's row
//	pt, err := s.Open(ct, tenantID, "openai api key")
//
// SealSecret and OpenSecret do the same for a redact.Secret, the type the
// provider packages take their API keys in.
//
// # Threat model
//
// The database, its backups and replicas are assumed readable, and perhaps
// writable, by an attacker who does not have the master secrets (which live
// in the environment or a secret manager, never in the database). Such an
// attacker learns nothing of a sealed secret but its length, and cannot
// alter a ciphertext, or forge one, without Open refusing it.
//
// The owner and purpose are additional data: authenticated, never stored in
// the ciphertext. An attacker who can write rows could otherwise copy
// another tenant's sealed credential into their own row and have the
// application use it on their behalf; with the owner bound, the copy fails
// to open (ErrOpen). The purpose does the same across columns: a sealed
// webhook secret moved into the API-key column does not open as an API key.
// So the owner should be the stable identifier of the row or tenant (a
// primary key, not a display name that can change), and the purpose a
// constant per column.
//
// What the binding does not stop: replacing a row's ciphertext with an
// older one of the same owner and purpose (a rollback to a previous
// credential). If that matters, put in the purpose a revision that the
// application keeps where the attacker cannot roll it back too. Nor
// does anything here protect against an attacker who holds a master secret
// or reads the process's memory.
//
// # Format
//
// A ciphertext is
//
//	format (1 byte, 1) | algorithm (1 byte) | key version (1 byte) | nonce | encrypted plaintext | tag (16 bytes)
//
// where the algorithm byte is 1 for AES256GCM and 2 for XChaCha20Poly1305,
// with a 12-byte nonce for AES256GCM (31 bytes of overhead in all) and a
// 24-byte one for XChaCha20Poly1305 (43 bytes). Nonces are random, from
// crypto/rand, drawn afresh for every Seal. The additional data is the
// 3-byte header, then the owner and the purpose, each preceded by its length
// as a uvarint (encoding/binary), so that ("ab", "c") and ("a", "bc") differ.
//
// Each version's master secret yields one 256-bit subkey per algorithm, by
// HKDF-SHA256 (crypto/hkdf) with no salt and the info string
// "wicket/seal format 1 <algorithm> key version <n>", for example
// "wicket/seal format 1 AES-256-GCM key version 2". New derives them all
// once and keeps no master secret. Since the labels differ, one master
// secret may also feed another package's derivation (the keys package's
// pepper), though separate secrets are better practice.
//
// # Algorithms
//
// AES256GCM, the default, comes from the standard library, runs on AES
// instructions and is FIPS 140-3 approved; with random 96-bit nonces a key
// version should seal no more than 2^32 messages (for credentials, far more
// than any database holds). XChaCha20Poly1305, from golang.org/x/crypto,
// has 192-bit nonces and no such limit, and is fast without AES
// instructions. Open accepts either, whatever Options.Algorithm says, so
// changing the algorithm is a rotation like a change of key.
//
// # Rotation
//
//  1. Add a new Key with an unused version and make it current; keep the
//     old keys as previous ones. Deploy everywhere: new seals use the new
//     key, and old ciphertexts still open.
//  2. Walk the stored ciphertexts with Reseal and write back those it
//     reports changed. Reseal authenticates every ciphertext, so the walk
//     also finds rows that no longer open.
//  3. When a walk changes nothing, drop the old key. A ciphertext still
//     sealed under it then fails with ErrUnknownVersion, which says "a key
//     was dropped too early" rather than "tampered".
//
// Versions are a single byte, 1 to 255; once every ciphertext has left a
// version, its number may be used again for a new secret.
//
// # Errors
//
// Every failure to open that depends on secret state (a changed byte, a
// wrong owner or purpose, another secret under the same version) is the one
// error ErrOpen, so that no caller or attacker can tell them apart. Errors
// never carry a plaintext, a secret, an owner or a purpose, and Key prints
// "[redacted]" in place of its secret.
package seal
