package keys_test

import (
	"context"
	"testing"

	"github.com/wicket-gw/wicket/keys"
)

func BenchmarkParse(b *testing.B) {
	f := mustFormat(b, "wk")
	k, _ := f.Generate(nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Parse(k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCacheHit(b *testing.B) {
	fx := newFixture(b, nil)
	key, _ := fx.issue(b, keys.Spec{})
	ctx := context.Background()
	if _, err := fx.m.Verify(ctx, key, noIP); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.m.Verify(ctx, key, noIP); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCacheHitParallel(b *testing.B) {
	fx := newFixture(b, nil)
	key, _ := fx.issue(b, keys.Spec{})
	ctx := context.Background()
	fx.m.Verify(ctx, key, noIP)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := fx.m.Verify(ctx, key, noIP); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyMiss alternates two keys through a one-entry cache, so
// every call reads the in-memory store.
func BenchmarkVerifyMiss(b *testing.B) {
	fx := newFixture(b, &keys.Options{CacheSize: 1, TouchInterval: -1})
	k1, _ := fx.issue(b, keys.Spec{})
	k2, _ := fx.issue(b, keys.Spec{})
	ks := [2]string{k1, k2}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := fx.m.Verify(ctx, ks[i&1], noIP); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if n := fx.store.lookups.Load(); n < int64(i) {
		b.Fatalf("%d lookups for %d verifications: not all misses", n, i)
	}
}

func BenchmarkIssue(b *testing.B) {
	fx := newFixture(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := fx.m.Issue(ctx, keys.Spec{Owner: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
