package redact_test

import (
	"encoding/json"
	"fmt"

	"github.com/wicket-gw/wicket/redact"
)

func ExampleNewSecret() {
	s := redact.NewSecret("sk-live-123")
	b, _ := json.Marshal(map[string]any{"api_key": s})
	fmt.Println(s, string(b))
	fmt.Println(len(s.Reveal()))
	// Output:
	// [redacted] {"api_key":"[redacted]"}
	// 11
}
