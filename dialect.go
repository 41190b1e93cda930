package wicket

import (
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// dialectFinder returns a function that tells, from a request's path, the
// dialect of the front door whose routes it falls under (the longest
// matching static prefix of a route), so that even requests refused before
// decoding get errors in the shape their SDK reads. Paths under no route
// get the first door's dialect.
func dialectFinder(doors []providers.FrontDoor) func(path string) providers.Dialect {
	type prefix struct {
		p string
		d providers.Dialect
	}
	var prefixes []prefix
	for _, door := range doors {
		for _, rt := range door.Routes() {
			p, _, _ := strings.Cut(rt.Path, "{")
			prefixes = append(prefixes, prefix{p, door.Dialect()})
		}
	}
	fallback := doors[0].Dialect()
	return func(path string) providers.Dialect {
		best, d := -1, fallback
		for _, p := range prefixes {
			if len(p.p) > best && strings.HasPrefix(path, p.p) {
				best, d = len(p.p), p.d
			}
		}
		return d
	}
}
