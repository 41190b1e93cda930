package uplink

import (
	"io"
	"time"

	"github.com/wicket-gw/wicket/providers"
)

// Copy copies src, a plain (not streamed) body, to w with a pooled buffer,
// and reports when the first byte was written and how many were. If tail
// is not nil it keeps the end of the body, for the dialect to read usage
// from. Nothing is written to w before the first body byte. A read error
// (from an Exchange, a *providers.UpstreamError) or a write error ends the
// copy and is returned as it is.
func (c *Client) Copy(w io.Writer, src io.Reader, tail *Tail) (providers.Result, error) {
	var res providers.Result
	bp := c.buffer()
	defer c.putBuffer(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if res.BytesWritten == 0 {
				res.FirstByte = time.Now()
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return res, werr
			}
			res.BytesWritten += int64(n)
			if tail != nil {
				tail.Write(buf[:n])
			}
		}
		if rerr == io.EOF {
			return res, nil
		}
		if rerr != nil {
			return res, rerr
		}
	}
}
