package glob

import (
	"regexp"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"gpt-4o*", "gpt-4o", true}, {"gpt-4o*", "gpt-4o-mini", true}, {"gpt-4o*", "gpt-4", false},
		{"*", "", true}, {"*", "anything", true}, {"", "", true}, {"", "a", false},
		{"a*b*c", "abc", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"/v1/*", "/v1/chat/completions", true}, {"/v1/*", "/v2/x", false},
		{"**a", "a", true}, {"a*", "ba", false}, {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaa", false},
	} {
		if got := Match(tc.p, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v; want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("gpt-*", "gpt-4o")
	f.Add("a*b*c", "axxbyyc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, p, s string) {
		// regexp works on UTF-8 runes; compare only ASCII, where runes are bytes.
		if len(p) > 64 || len(s) > 256 || !isASCII(p+s) {
			return
		}
		parts := strings.Split(p, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`)
		if want := re.MatchString(s); want != Match(p, s) {
			t.Fatalf("Match(%q, %q) = %v; regexp says %v", p, s, !want, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
