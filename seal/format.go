package seal

import "encoding/binary"

// The wire format, version 1 (see the package documentation): a header of
// format, algorithm and key version, then the nonce, the encrypted
// plaintext and the tag. The additional data, never stored, is the header
// followed by the owner and the purpose, each prefixed by its length as a
// uvarint, so that no two (owner, purpose) pairs encode alike.
const (
	formatV1  = 1
	headerLen = 3
)

// MaxPlaintext is the longest plaintext Seal accepts, in bytes: the limit of
// AES-256-GCM, the tighter of the two algorithms.
const MaxPlaintext = 1<<36 - 32

// appendAD appends the additional data for a ciphertext with the given
// header, owner and purpose to dst.
func appendAD(dst, header []byte, owner, purpose string) []byte {
	dst = append(dst, header[:headerLen]...)
	dst = binary.AppendUvarint(dst, uint64(len(owner)))
	dst = append(dst, owner...)
	dst = binary.AppendUvarint(dst, uint64(len(purpose)))
	return append(dst, purpose...)
}

// adLen is an upper bound of the additional data's length.
func adLen(owner, purpose string) int {
	return headerLen + 2*binary.MaxVarintLen64 + len(owner) + len(purpose)
}
