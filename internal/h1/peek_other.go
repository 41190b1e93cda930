//go:build !unix

package h1

// peek cannot look at the socket here: the connection is taken as alive,
// and a request it fails before any answer is sent again when it can be
// replayed.
func (c *conn) peek(fd uintptr) bool {
	c.peekAlive = true
	return true
}
