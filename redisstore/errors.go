package redisstore

import (
	"errors"
	"fmt"
)

// errReply reports a script reply of an unexpected shape, which only a
// server that is not Redis (or a script of another version) gives.
var errReply = errors.New("redisstore: unexpected reply from redis")

// wrapErr prefixes err, a failure of the client or the server, with the
// package name. Such errors name no key and carry no value sent.
func wrapErr(err error) error {
	return fmt.Errorf("redisstore: %w", err)
}
