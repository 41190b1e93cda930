package seal_test

import (
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

// A typical sealed secret: an upstream provider's API key.
var benchSecret = []byte("sk-proj-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST")[:64]

func BenchmarkSeal(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg.String(), func(b *testing.B) {
			s := mustNew(b, key(1), nil, alg)
			b.SetBytes(int64(len(benchSecret)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Seal(benchSecret, "tenant-123456", "openai api key"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, alg := range algs {
		b.Run(alg.String(), func(b *testing.B) {
			s := mustNew(b, key(1), nil, alg)
			ct := mustSeal(b, s, benchSecret, "tenant-123456", "openai api key")
			b.SetBytes(int64(len(benchSecret)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Open(ct, "tenant-123456", "openai api key"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	previous := []seal.Key{key(1), key(2)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seal.New(key(3), previous, nil); err != nil {
			b.Fatal(err)
		}
	}
}
