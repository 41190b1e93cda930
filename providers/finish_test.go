package providers

import (
	"slices"
	"testing"
)

func TestAppendFinishReasons(t *testing.T) {
	for _, tc := range []struct {
		name, data, key string
		dst, want       []string
	}{
		{"openai", `{"choices":[{"index":0,"finish_reason":"tool_calls"}]}`, "finish_reason", nil, []string{"tool_calls"}},
		{"anthropic", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null}}`, "stop_reason", nil, []string{"end_turn"}},
		{"gemini", `{"candidates":[{"finishReason":"MAX_TOKENS"},{"finishReason":"STOP"}]}`, "finishReason", nil, []string{"MAX_TOKENS", "STOP"}},
		{"text is not a reason", `{"finish_reason":"hello world, my prompt"}`, "finish_reason", nil, nil},
		{"appends, bounded", `{"finish_reason":"a"}{"finish_reason":"b"}`, "finish_reason", []string{"1", "2", "3", "4", "5", "6", "7"}, []string{"1", "2", "3", "4", "5", "6", "7", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppendFinishReasons(tc.dst, []byte(tc.data), tc.key); !slices.Equal(got, tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
