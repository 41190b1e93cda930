package h1

import (
	"context"
	"sync"
	"time"
)

// pool holds one host's idle keep-alive connections, most recently used on
// top. While it holds any, a timer sweeps them every sweepEvery (or
// IdleConnTimeout, if shorter): it closes those idle longer than
// IdleConnTimeout and those the server has closed, so that no socket
// lingers half-closed for long with no goroutine reading it.
type pool struct {
	t         *Transport
	key       hostKey
	addr      string // host:port to dial
	delegated bool   // its requests go to the Transport's Fallback

	mu      sync.Mutex
	idle    []*conn
	sweeper *time.Timer // runs sweep while idle is not empty
}

// get returns an idle connection that is still open, or dials a new one;
// reused reports which.
func (p *pool) get(ctx context.Context) (c *conn, reused bool, err error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		// A connection the server closed while it sat idle would take the
		// request and answer nothing; one whose idle time ran out is
		// closed before the sweeper gets to it.
		if time.Since(c.idleSince) < p.t.o.IdleConnTimeout && c.alive() {
			return c, true, nil
		}
		c.close()
	}
	c, err = p.t.dial(ctx, p.key, p.addr)
	if err != nil {
		return nil, false, err
	}
	c.p = p
	return c, false, nil
}

// sweepEvery is how often a pool checks its idle connections.
const sweepEvery = time.Second

// put makes c idle, or closes it when the pool is full.
func (p *pool) put(c *conn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	if len(p.idle) >= p.t.o.MaxIdleConnsPerHost {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	if p.sweeper == nil {
		p.sweeper = time.AfterFunc(p.period(), p.sweep)
	}
	p.mu.Unlock()
}

func (p *pool) period() time.Duration { return min(sweepEvery, p.t.o.IdleConnTimeout) }

// sweep closes the idle connections that are stale (see pool) and runs
// again while any remain.
func (p *pool) sweep() {
	limit := p.t.o.IdleConnTimeout
	now := time.Now()
	var stale []*conn
	p.mu.Lock()
	keep := 0
	for _, c := range p.idle { // oldest first
		if now.Sub(c.idleSince) >= limit || !c.alive() {
			stale = append(stale, c)
			continue
		}
		p.idle[keep] = c
		keep++
	}
	clear(p.idle[keep:])
	p.idle = p.idle[:keep]
	if keep == 0 {
		p.sweeper = nil
	} else {
		p.sweeper.Reset(p.period())
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// closeIdle closes every idle connection.
func (p *pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.sweeper != nil {
		p.sweeper.Stop()
		p.sweeper = nil
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}
