package seal

import (
	"bytes"
	"testing"
)

func TestAppendADInjective(t *testing.T) {
	header := []byte{1, 1, 1}
	strs := []string{"", "a", "b", "ab", "ba", "abc", "\x00", "\x01", "\x01a", "a\x01", "\x02ab", string(make([]byte, 200))}
	seen := map[string][2]string{}
	for _, o := range strs {
		for _, p := range strs {
			ad := appendAD(nil, header, o, p)
			if prev, dup := seen[string(ad)]; dup {
				t.Fatalf("(%q, %q) and (%q, %q) encode alike", o, p, prev[0], prev[1])
			}
			seen[string(ad)] = [2]string{o, p}
			if len(ad) > adLen(o, p) {
				t.Errorf("len(ad) = %d > adLen %d", len(ad), adLen(o, p))
			}
		}
	}
	if ad := appendAD(nil, []byte{1, 2, 3}, "", ""); !bytes.Equal(ad, []byte{1, 2, 3, 0, 0}) {
		t.Errorf("appendAD(empty) = %v; want [1 2 3 0 0]", ad)
	}
}

func TestOverheadMatchesAEAD(t *testing.T) {
	for _, a := range algorithms {
		aead, err := a.newAEAD(Key{Version: 1, Secret: make([]byte, MinSecretLen)})
		if err != nil {
			t.Fatal(err)
		}
		if aead.NonceSize() != 0 || aead.Overhead() != a.overhead() {
			t.Errorf("%v: NonceSize, Overhead = %d, %d; want 0, %d", a, aead.NonceSize(), aead.Overhead(), a.overhead())
		}
	}
}
