package redact

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
)

// maxDepth bounds how deep a Handler follows groups and maps; deeper values
// (a map that contains itself, say) are replaced by tooDeep.
const maxDepth = 16

const tooDeep = "[redacted: nested too deep]"

// policy is what a Handler and its derivatives share: which keys to drop
// and how to mask. It does not change after NewHandler.
type policy struct {
	drop *keySet
	m    masker
}

// cleanRecord reports whether r has nothing to drop, mask or resolve. It
// does not allocate.
func (p *policy) cleanRecord(r slog.Record) bool {
	clean := true
	r.Attrs(func(a slog.Attr) bool {
		clean = p.clean(a, 0)
		return clean
	})
	return clean
}

// clean reports whether a can pass as it is.
func (p *policy) clean(a slog.Attr, depth int) bool {
	v := a.Value
	if p.drop.drops(a.Key, v) {
		return false
	}
	switch v.Kind() {
	case slog.KindString:
		_, changed := p.m.mask(v.String(), true)
		return !changed
	case slog.KindGroup:
		if depth >= maxDepth {
			return false
		}
		for _, c := range v.Group() {
			if !p.clean(c, depth+1) {
				return false
			}
		}
		return true
	case slog.KindLogValuer:
		return false
	case slog.KindAny:
		return !needsWork(v.Any())
	}
	return true
}

// needsWork reports whether policy.value may change a value of kind Any.
func needsWork(x any) bool {
	switch x.(type) {
	case nil:
		return false
	case error, *url.URL, url.URL, []byte, []string:
		return true
	}
	return reflect.TypeOf(x).Kind() == reflect.Map
}

// attr returns a with its value filtered, or false if a is dropped.
func (p *policy) attr(a slog.Attr, depth int) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if p.drop.drops(a.Key, a.Value) {
		return slog.Attr{}, false
	}
	a.Value = p.value(a.Value, depth)
	return a, true
}

func (p *policy) value(v slog.Value, depth int) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s, changed := p.text(v.String()); changed {
			return slog.StringValue(s)
		}
	case slog.KindGroup:
		if depth >= maxDepth {
			return slog.StringValue(tooDeep)
		}
		return slog.GroupValue(p.attrs(v.Group(), depth+1)...)
	case slog.KindAny:
		return p.any(v, depth)
	}
	return v
}

func (p *policy) attrs(in []slog.Attr, depth int) []slog.Attr {
	out := make([]slog.Attr, 0, len(in))
	for _, a := range in {
		if a, ok := p.attr(a, depth); ok {
			out = append(out, a)
		}
	}
	return out
}

// any filters a resolved value of kind Any.
func (p *policy) any(v slog.Value, depth int) slog.Value {
	switch x := v.Any().(type) {
	case nil:
		return v
	case error:
		return slog.StringValue(p.m.errorText(x))
	case *url.URL:
		if x != nil {
			return slog.StringValue(p.m.scrubText(x.String()))
		}
		return v
	case url.URL:
		return slog.StringValue(p.m.scrubText(x.String()))
	case []byte:
		if s, changed := p.text(string(x)); changed {
			return slog.StringValue(s)
		}
		return v
	case []string:
		var out []string
		for i, s := range x {
			if m, changed := p.text(s); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = m
			}
		}
		if out != nil {
			return slog.AnyValue(out)
		}
		return v
	}
	rv := reflect.ValueOf(v.Any())
	if rv.Kind() != reflect.Map {
		return v
	}
	if depth >= maxDepth {
		return slog.StringValue(tooDeep)
	}
	// A map: log it as a group, so that its keys are filtered too.
	as := make([]slog.Attr, 0, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		k := it.Key()
		key := fmt.Sprint(k.Interface())
		if k.Kind() == reflect.String {
			key = k.String()
		}
		as = append(as, slog.Any(key, it.Value().Interface()))
	}
	slices.SortFunc(as, func(a, b slog.Attr) int { return cmp.Compare(a.Key, b.Key) })
	return slog.GroupValue(p.attrs(as, depth+1)...)
}

// text masks s and removes the queries of its URLs, as ScrubError does for
// error messages.
func (p *policy) text(s string) (string, bool) {
	out, changed := p.m.mask(s, true)
	if !changed {
		return s, false
	}
	return p.m.scrubText(out), true
}
