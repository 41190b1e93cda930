package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/seal"
)

func TestKeyNeverPrintsSecret(t *testing.T) {
	k := seal.Key{Version: 3, Secret: []byte("key-canary-0123456789abcdef012345")}
	holder := struct {
		Current  seal.Key
		Previous []seal.Key
		Ptr      *seal.Key
	}{k, []seal.Key{k}, &k}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", k, "holder", holder)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", k)
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %q %x %d", k, k, k, k, k, k, k),
		fmt.Sprintf("%v %+v %#v", holder, holder, &holder), string(j), logs.String(),
	}
	for _, out := range outs {
		for _, leak := range []string{
			"canary", hex.EncodeToString(k.Secret[:6]), base64.StdEncoding.EncodeToString(k.Secret[:6]),
			fmt.Sprint(k.Secret[:6])[1:10],
		} {
			if strings.Contains(out, leak) {
				t.Errorf("secret printed (%q): %s", leak, out)
			}
		}
	}
	if got, want := k.String(), "seal.Key{Version: 3, Secret: [redacted]}"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	if !strings.Contains(logs.String(), `"version":3`) {
		t.Errorf("slog output lacks the version: %s", logs.String())
	}
}
