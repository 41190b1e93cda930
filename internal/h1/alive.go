package h1

// alive reports whether an idle c is still open: nothing arrived on it and
// the server did not close it. Where the platform allows it peeks at the
// socket without blocking (see peek); elsewhere, or on a connection with no
// socket under it, it trusts the connection.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // bytes no request asked for
	}
	if c.raw == nil {
		return true
	}
	c.peekAlive = true
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekAlive
}
