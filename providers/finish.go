package providers

import (
	"slices"

	"github.com/wicket-gw/wicket/internal/jsonx"
)

// AppendFinishReasons appends to dst the finish reasons in data (an
// event, or the end of a whole answer) held by the members named key (the
// dialect's: "finish_reason", "stop_reason", "finishReason"), up to
// MaxFinishReasons in all. Only identifier-like values count (see
// IsFinishReason): a reason is metadata, never text.
func AppendFinishReasons(dst []string, data []byte, key string) []string {
	n := len(dst)
	dst = jsonx.AppendStrings(dst, data, key, MaxFinishReasons-n, 64)
	return append(dst[:n], FinishReasons(dst[n:])...)
}

// FinishReasons returns what of rs may stand as finish reasons: the values
// IsFinishReason accepts, at most MaxFinishReasons. It returns rs itself
// when all of them may, else a new slice: rs is never written.
func FinishReasons(rs []string) []string {
	if len(rs) > MaxFinishReasons {
		rs = rs[:MaxFinishReasons]
	}
	for _, r := range rs {
		if !IsFinishReason(r) {
			return slices.DeleteFunc(slices.Clone(rs), func(r string) bool { return !IsFinishReason(r) })
		}
	}
	return rs
}

// IsFinishReason reports whether s looks like a finish reason: 1 to 64
// letters, digits, '_', '-', '.' or ':'.
func IsFinishReason(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
