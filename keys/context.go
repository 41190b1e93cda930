package keys

import "context"

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying the verified key's record.
// The middleware calls it; applications mounting their own auth may too.
func WithPrincipal(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, principalKey{}, r)
}

// PrincipalFrom returns the verified key's record that the middleware put
// in ctx. The record is shared and must not be modified.
func PrincipalFrom(ctx context.Context) (*Record, bool) {
	r, ok := ctx.Value(principalKey{}).(*Record)
	return r, ok && r != nil
}
