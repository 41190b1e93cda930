package redact_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wicket-gw/wicket/redact"
)

// Fixtures: shapes of real keys, random characters of our own.
const (
	openAIKey    = "sk-proj-Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6_-Rw7Tz"
	legacyOpenAI = "sk-Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6p8Rw"
	anthropicKey = "sk-ant-api03-Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6iO7p8Rw-AA"
	googleKey    = "AIzaSyZq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fGx"
	awsKeyID     = "AKIAZQ3XVB7NNP0RT9SK"
	githubToken  = "ghp_Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6"
	appKey       = "wk_Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6"
	otherAppKey  = "acme_Zq3xVb7NnP0rT9sKd2LmWc5YhJ8aE4fG1uQ6"
	jwtToken     = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.Zq3xVb7NnP0rT9sKd2LmWc5Y"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"openai project key", "using " + openAIKey + ".", "using sk-proj-…w7Tz."},
		{"openai legacy key", legacyOpenAI, "sk-…p8Rw"},
		{"anthropic key", "key=" + anthropicKey, "key=sk-ant-…w-AA"},
		{"google key", "(" + googleKey + ")", "(AIza…4fGx)"},
		{"aws key id", awsKeyID, "AKIA…T9SK"},
		{"github token", githubToken, "ghp_…1uQ6"},
		{"app key, default prefix", "key " + appKey, "key wk_…1uQ6"},
		{"app key, any prefix", otherAppKey, "acme_…1uQ6"},
		{"truncated app key", "wk_Zq3xVb7NnP0rT", "wk_…P0rT"},
		{"percent-escaped", "q%3D" + openAIKey, "q%3Dsk-proj-…w7Tz"},
		{"jwt", "got " + jwtToken + " back", "got [redacted jwt] back"},
		{"bearer", "Bearer abc123def456", "Bearer [redacted]"},
		{"bearer lower case", "sent bearer zz.yy-xx_ww~1", "sent bearer [redacted]"},
		{"basic", "Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]"},
		{"authorization header", "Authorization: Token 0123456789abcdef", "Authorization: Token [redacted]"},
		{"authorization, no scheme", "authorization=0123456789abcdef rest", "authorization=[redacted] rest"},
		{"x-api-key header", "X-Api-Key: 0123456789abcdef\n", "X-Api-Key: [redacted]\n"},
		{"x-goog-api-key", "x-goog-api-key:abc", "x-goog-api-key:[redacted]"},
		{"json field", `{"api_key":"0123 4567","model":"m"}`, `{"api_key":"[redacted]","model":"m"}`},
		{"escaped json field", `{\"x-api-key\":\"0123\",\"m\":1}`, `{\"x-api-key\":\"[redacted]\",\"m\":1}`},
		{"env var", "OPENAI_API_KEY=abc ANTHROPIC_API_KEY='def ghi'", "OPENAI_API_KEY=[redacted] ANTHROPIC_API_KEY='[redacted]'"},
		{"password", "password: hunter2, user: bob", "password: [redacted], user: bob"},
		{"cookie", "Cookie: a=1; b=2\nHost: x", "Cookie: [redacted]\nHost: x"},
		{"fmt of a header", "map[Authorization:[Bearer abc123def456] X-Api-Key:[k1] Accept:[*/*]]",
			"map[Authorization:[Bearer [redacted]] X-Api-Key:[[redacted]] Accept:[*/*]]"},
		{"query key", "/v1beta/models/m:generateContent?key=AIzaSomething&alt=sse", "/v1beta/models/m:generateContent?key=[redacted]&alt=sse"},
		{"query token", "https://h/x?a=1&access_token=abc#f", "https://h/x?a=1&access_token=[redacted]#f"},
		{"query signature", "?X-Amz-Signature=abc&X-Amz-Credential=def", "?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]"},
		{"userinfo", "dial https://bob:hunter2@proxy.example:8080/v1", "dial https://[redacted]@proxy.example:8080/v1"},
		{"key inside a word", "task-sk-proj-Zq3xVb7NnP0rT9sKd2LmWc5Y", "task-sk-proj-Zq3xVb7NnP0rT9sKd2LmWc5Y"},
		{"hint stays", "wk_…1uQ6 and sk-proj-…w7Tz", "wk_…1uQ6 and sk-proj-…w7Tz"},
		{"placeholder stays", "Authorization: Bearer [redacted]", "Authorization: Bearer [redacted]"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Mask(tc.in)
			if got != tc.want {
				t.Errorf("Mask(%q) = %q; want %q", tc.in, got, tc.want)
			}
			if again := redact.Mask(got); again != got {
				t.Errorf("Mask(Mask(%q)) = %q; want %q", tc.in, again, got)
			}
		})
	}
}

// TestMaskLeavesProse checks that what the gateway itself logs and answers
// passes unchanged: false positives would hide what operators need.
func TestMaskLeavesProse(t *testing.T) {
	for _, s := range []string{
		"keys: missing Bearer token",
		"keys: Authorization scheme is not Bearer",
		"basic authentication required",
		"model gpt-4o-mini-2024-07-18 not allowed for key wk_…Q6iO",
		"upstream openai: 429 Too Many Requests",
		"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
		"msg_01XFDUDYJgAACzvnptvVoYEL toolu_01A09q90qw90lq917835lq9",
		"request_id=req_011CQ8aB2c3D4e5F6g7H8i9J trace=4bf92f3577b34da6a3ce929d0e0e4736",
		"POST /v1/chat/completions 200 in 1.234s",
		"https://api.openai.com/v1/chat/completions?stream=true",
		"input_tokens=12 output_tokens=34 max_tokens: 100",
		"tokens=1234 password_policy",
	} {
		if got := redact.Mask(s); got != s {
			t.Errorf("Mask(%q) = %q; want it unchanged", s, got)
		}
	}
}

func TestMaskDoesNotAllocateOnCleanText(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are noisy under -race")
	}
	s := "POST /v1/chat/completions model=gpt-4o-mini status=200 duration=1.2s key=wk_…Q6iO https://api.openai.com/v1"
	if n := testing.AllocsPerRun(100, func() { _ = redact.Mask(s) }); n != 0 {
		t.Errorf("Mask allocated %v times; want 0", n)
	}
}

func TestMaskHidesAllButTheLastFour(t *testing.T) {
	for _, k := range []string{openAIKey, legacyOpenAI, anthropicKey, googleKey, awsKeyID, githubToken, appKey, otherAppKey} {
		got := redact.Mask(k)
		if strings.Contains(got, k[len(k)-12:len(k)-4]) {
			t.Errorf("Mask(%q) = %q shows more than the last four characters", k, got)
		}
		if !strings.HasSuffix(got, "…"+k[len(k)-4:]) {
			t.Errorf("Mask(%q) = %q; want the hint to end in …%s", k, got, k[len(k)-4:])
		}
	}
}

// TestMaskIsLinear guards against quadratic scans: each input would take
// minutes if every "://", label or scheme rescanned the rest.
func TestMaskIsLinear(t *testing.T) {
	for _, unit := range []string{"://", "://a@", "a://b/?", "Authorization: A ", "a_key:", "Bearer ", "?key=", "eyJaaaaaaaa.", "x-api-key:[", "-", "basic dXNlcjpwYXNz "} {
		s := strings.Repeat(unit, 400_000/len(unit))
		start := time.Now()
		redact.Mask(s)
		_ = redact.ScrubError(errors.New(s))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%d bytes of %q took %v; want linear time", len(s), unit, d)
		}
	}
}
