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

// IsPrincipalKey reports whether key is the context key under which
// WithPrincipal stores the record. A context type of an application's own
// (one that already carries its request's state) answers Value for such a
// key with the verified *Record, and PrincipalFrom then finds it without
// WithPrincipal's extra context; see MiddlewareOptions.Attach.
func IsPrincipalKey(key any) bool {
	_, ok := key.(principalKey)
	return ok
}
