package wicket

import (
	"strings"

	"github.com/wicket-gw/wicket/providers"
)

// doorFinder returns a function that tells, from a request's path, the
// front door whose routes it falls under (the longest matching static
// prefix of a route), so that even requests refused before decoding get
// errors and rate-limit headers in the shape their SDK reads. Paths under
// no route get the first door.
func doorFinder(doors []providers.FrontDoor) func(path string) providers.FrontDoor {
	type prefix struct {
		p    string
		door providers.FrontDoor
	}
	var prefixes []prefix
	for _, door := range doors {
		for _, rt := range door.Routes() {
			p, _, _ := strings.Cut(rt.Path, "{")
			prefixes = append(prefixes, prefix{p, door})
		}
	}
	fallback := doors[0]
	return func(path string) providers.FrontDoor {
		best, door := -1, fallback
		for _, p := range prefixes {
			if len(p.p) > best && strings.HasPrefix(path, p.p) {
				best, door = len(p.p), p.door
			}
		}
		return door
	}
}
