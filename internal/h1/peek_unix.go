//go:build unix

package h1

import "syscall"

// peek is the raw read alive makes: one non-blocking MSG_PEEK, which finds
// the server's close (end of file), an error, or stray bytes, all of which
// make the connection unfit for a request. Nothing to read is alive.
func (c *conn) peek(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.peekAlive = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
	return true
}
