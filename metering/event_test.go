package metering_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// identifierFields are the string fields of Event reviewed as identifiers:
// names and IDs, never text a client or a model wrote. Add a field here only
// if it can hold nothing else.
var identifierFields = map[string]bool{
	"Event.RequestID":       true,
	"Event.ClientRequestID": true,
	"Event.Deployment":      true,
	"Event.KeyID":           true,
	"Event.Owner":           true,
	"Event.Model":           true,
	"Event.ServedModel":     true,
	"Event.Provider":        true,
	"Event.Endpoint":        true,
	"Event.ErrorClass":      true,
	// Reviewed: the gateway keeps only identifier-like values (letters,
	// digits, '_', '-', '.', ':'; at most 64 bytes, 8 of them), whatever a
	// provider reports (providers.IsFinishReason).
	"Event.FinishReasons": true,
}

// TestEventHoldsNoContent guards the zero-retention invariant: every field
// of Event, nested ones included, is a number, a flag, a time, or a string
// (or list of strings) on the identifier allowlist. A new field able to hold text (a string, a
// slice, a map, a pointer, an interface...) fails this test until reviewed.
func TestEventHoldsNoContent(t *testing.T) {
	seen := make(map[string]bool)
	checkNoContent(t, "Event", reflect.TypeFor[metering.Event](), seen)
	for f := range identifierFields {
		if !seen[f] {
			t.Errorf("allowlisted field %s no longer exists; remove it from identifierFields", f)
		}
	}
}

func checkNoContent(t *testing.T, path string, typ reflect.Type, seen map[string]bool) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		p := path + "." + f.Name
		switch k := f.Type.Kind(); {
		case f.Type == reflect.TypeFor[time.Time]():
		case k == reflect.Struct:
			checkNoContent(t, p, f.Type, seen)
		case k == reflect.Bool,
			k >= reflect.Int && k <= reflect.Int64,
			k >= reflect.Uint && k <= reflect.Uint64:
		case k == reflect.String && identifierFields[p],
			k == reflect.Slice && f.Type.Elem().Kind() == reflect.String && identifierFields[p]:
			seen[p] = true
		default:
			t.Errorf("%s is a %s, which can carry prompt or completion content; "+
				"Event may only hold numbers, flags, times and reviewed identifiers", p, f.Type)
		}
	}
}
