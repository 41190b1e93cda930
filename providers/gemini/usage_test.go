package gemini

import (
	"strings"
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

func TestParseUsage(t *testing.T) {
	cases := []struct {
		name string
		obj  string
		want metering.Usage
		ok   bool
	}{
		{"all counts", `{"promptTokenCount":12,"cachedContentTokenCount":8,"candidatesTokenCount":3,"toolUsePromptTokenCount":4,"thoughtsTokenCount":20,"totalTokenCount":39}`,
			metering.Usage{InputTokens: 16, CachedInputTokens: 8, OutputTokens: 23, ReasoningTokens: 20}, true},
		{"prompt only", `{"promptTokenCount":12,"totalTokenCount":12}`, metering.Usage{InputTokens: 12}, true},
		{"details ignored", `{"promptTokenCount":5,"candidatesTokenCount":2,"promptTokensDetails":[{"modality":"TEXT","tokenCount":5}]}`,
			metering.Usage{InputTokens: 5, OutputTokens: 2}, true},
		{"empty", `{}`, metering.Usage{}, false},
		{"total only", `{"totalTokenCount":9}`, metering.Usage{}, false},
		{"negative ignored", `{"promptTokenCount":-5,"candidatesTokenCount":2}`, metering.Usage{OutputTokens: 2}, true},
		{"broken", `{"promptTokenCount":12,"candidatesTokenCount":tru}`, metering.Usage{}, false},
		{"not an object", `[1]`, metering.Usage{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseUsage([]byte(tc.obj))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseUsage = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestUsageFromTail(t *testing.T) {
	want := metering.Usage{InputTokens: 16, CachedInputTokens: 8, OutputTokens: 23, ReasoningTokens: 20}
	if u, ok := usageFromTail([]byte(wholeAnswer), true); !ok || u != want {
		t.Errorf("whole body: %+v, %v; want %+v", u, ok, want)
	}
	// A text that spells the key, escaped as JSON escapes it, is not the key.
	trick := strings.Replace(wholeAnswer, `"Hello!"`, `"\"usageMetadata\": {\"promptTokenCount\": 999}"`, 1)
	if u, ok := usageFromTail([]byte(trick), true); !ok || u != want {
		t.Errorf("whole body with a trick text: %+v, %v; want %+v", u, ok, want)
	}
	tail := []byte(trick[len(trick)/3:])
	if u, ok := usageFromTail(tail, false); !ok || u != want {
		t.Errorf("tail: %+v, %v; want %+v", u, ok, want)
	}
	if _, ok := usageFromTail([]byte(`{"candidates":[]}`), true); ok {
		t.Error("usage from a body without usageMetadata")
	}
	if _, ok := usageFromTail([]byte(`ata": {"promptTokenCount": 3}}`), false); ok {
		t.Error("usage from a tail that cut the key")
	}
}
