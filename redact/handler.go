package redact

import (
	"context"
	"log/slog"
	"slices"
)

// HandlerOptions configures a Handler. A nil *HandlerOptions means the zero
// value.
type HandlerOptions struct {
	// DropKeys are attribute keys to drop besides DefaultDropKeys, matched
	// as those are. None by default.
	DropKeys []string
	// KeepKeys are keys of DefaultDropKeys to keep after all. None by
	// default.
	KeepKeys []string
	// KeyPrefixes are the prefixes of the application's own API keys
	// (keys.Options.Prefix), without the underscore. After one of them,
	// any run of at least 12 base62 characters is masked, which catches
	// truncated keys; whole keys of this module's format are masked
	// whatever their prefix. Nil means {"wk"}, the default prefix of
	// package keys; an empty, non-nil slice means none.
	KeyPrefixes []string
}

// Handler is an slog.Handler that keeps credentials and content out of the
// logs that another Handler writes:
//
//   - it drops every attribute whose key is in its drop list
//     (DefaultDropKeys, adjusted by HandlerOptions; a content key with a
//     numeric value stays), at any depth: in a
//     record, in WithAttrs, inside groups, in what a LogValuer resolves to,
//     and under the keys of a map value (an http.Header, a decoded JSON
//     object), which it logs as a group; after WithGroup with such a key,
//     it drops every attribute;
//   - in the record's message and in values of types string, []string,
//     []byte and URL, it masks credentials as Mask does (the user
//     information of URLs included) and removes the query and fragment of
//     absolute URLs, as ScrubError does;
//   - it replaces an error value by its message scrubbed as ScrubError
//     does.
//
// Values of other types (structs, slices of other types) pass to the
// wrapped Handler as they are; give such types a LogValue method, or log
// their fields. A record with nothing to drop or mask reaches the wrapped
// Handler unchanged, at the cost of one scan of its strings.
//
// A Handler is safe for concurrent use if the wrapped one is.
type Handler struct {
	next    slog.Handler
	pol     *policy
	dropAll bool // under a group whose key is dropped
}

// NewHandler returns a Handler that passes what it keeps to next. It panics
// if next is nil, as slog.New does.
func NewHandler(next slog.Handler, opts *HandlerOptions) *Handler {
	if next == nil {
		panic("redact: NewHandler with a nil slog.Handler")
	}
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	pol := &policy{drop: newKeySet(o.DropKeys, o.KeepKeys)}
	if o.KeyPrefixes != nil {
		pol.m.prefixes = slices.DeleteFunc(slices.Clone(o.KeyPrefixes), func(p string) bool { return p == "" })
		if pol.m.prefixes == nil {
			pol.m.prefixes = []string{}
		}
	}
	return &Handler{next: next, pol: pol}
}

// Enabled reports whether the wrapped Handler handles records of level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle filters r and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	msg, changed := h.pol.text(r.Message)
	if !changed && !h.dropAll && h.pol.cleanRecord(r) {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	if !h.dropAll {
		r.Attrs(func(a slog.Attr) bool {
			if a, ok := h.pol.attr(a, 0); ok {
				out.AddAttrs(a)
			}
			return true
		})
	}
	return h.next.Handle(ctx, out)
}

// WithAttrs filters attrs once, resolving their LogValuers, and returns a
// Handler whose wrapped Handler has what remains.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if h.dropAll || len(attrs) == 0 {
		return h
	}
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a, ok := h.pol.attr(a, 0); ok {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		return h
	}
	return &Handler{next: h.next.WithAttrs(kept), pol: h.pol}
}

// WithGroup returns a Handler whose attributes go into the group name. If
// name is a key to drop, the Handler drops every attribute.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), pol: h.pol, dropAll: h.dropAll || h.pol.drop.rule(name) != keep}
}
