package redact_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"testing"
)

// holderErr is an error that carries a value in a field, as an error type
// of the module might.
type holderErr[T any] struct {
	V T
}

func (e holderErr[T]) Error() string { return fmt.Sprintf("failed with %v", e.V) }

// printings renders v in every way a program might print it by accident:
// fmt verbs, inside exported and unexported struct fields, pointers,
// slices, maps and errors, JSON, XML, gob (which must refuse), and slog's
// JSON and text handlers. It returns each rendering by name.
func printings[T any](t *testing.T, v T) map[string]string {
	t.Helper()
	type exported struct {
		V T `json:"v" xml:"v"`
	}
	type unexported struct {
		v T
	}
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v"} {
		out["fmt "+verb] = fmt.Sprintf(verb, v)
		out["fmt "+verb+" of pointer"] = fmt.Sprintf(verb, &v)
		out["fmt "+verb+" in struct"] = fmt.Sprintf(verb, exported{v})
		out["fmt "+verb+" in pointer to struct"] = fmt.Sprintf(verb, &exported{v})
		out["fmt "+verb+" in unexported field"] = fmt.Sprintf(verb, unexported{v})
		out["fmt "+verb+" in pointer to unexported field"] = fmt.Sprintf(verb, &unexported{v})
		out["fmt "+verb+" in slice"] = fmt.Sprintf(verb, []T{v})
		out["fmt "+verb+" in map"] = fmt.Sprintf(verb, map[string]T{"k": v})
		out["fmt "+verb+" in any slice"] = fmt.Sprintf(verb, []any{v})
	}
	out["fmt Sprint"] = fmt.Sprint(v)
	out["fmt Sprintln"] = fmt.Sprintln(v, &v)
	out["error %v"] = fmt.Errorf("wrapping: %v", v).Error()
	out["error type"] = holderErr[T]{v}.Error()
	out["error type %+v"] = fmt.Sprintf("%+v", holderErr[T]{v})
	out["error wrapped"] = fmt.Errorf("outer: %w", holderErr[T]{v}).Error()
	for name, x := range map[string]any{"value": v, "pointer": &v, "struct": exported{v}, "map": map[string]T{"k": v}, "slice": []T{v}} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		out["json "+name] = string(b)
	}
	if b, err := xml.Marshal(exported{v}); err != nil {
		t.Fatalf("xml.Marshal: %v", err)
	} else {
		out["xml"] = string(b)
	}
	// gob ignores MarshalText: it refuses a type whose fields are all
	// unexported, which is what we want, as long as its error does not
	// print the value.
	var g bytes.Buffer
	if err := gob.NewEncoder(&g).Encode(exported{v}); err == nil {
		t.Errorf("gob encoded %T; want an error", v)
	} else {
		out["gob"] = g.String() + err.Error()
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var b bytes.Buffer
		l := slog.New(h(&b))
		l.Info("v", "v", v)
		l.Info("pointer", "v", &v)
		l.Info("group", slog.Group("g", "v", v))
		l.With("v", v).WithGroup("g").Info("with", "v", v)
		l.Info("struct", "v", exported{v})
		l.Info("unexported", "v", unexported{v})
		l.Info("slice", "v", []T{v})
		l.Info("map", "v", map[string]T{"k": v})
		l.Info("error", "err", holderErr[T]{v})
		out["slog "+name] = b.String()
	}
	return out
}
