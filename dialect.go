package wicket

import (
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// dialectOf guesses the caller's dialect from the path, so that even
// requests refused before decoding get errors in the shape their SDK reads.
func dialectOf(path string) providers.Dialect {
	switch {
	case strings.HasPrefix(path, "/v1/messages"):
		return providers.DialectAnthropic
	case strings.HasPrefix(path, "/v1beta/"), strings.HasPrefix(path, "/v1alpha/"):
		return providers.DialectGemini
	}
	return providers.DialectOpenAI
}
