package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wicket-gw/wicket/keys"
)

// Subscribe makes m follow the revocations of every replica, until ctx is
// done: it subscribes to the store's channel in a goroutine of its own, and
// calls m.Invalidate with each digest published there (by this replica's
// writes too).
//
// It keeps m's cache in step with the store across a lost connection, a
// Redis restart and a message lost on the way, using the revocation epoch
// that every publishing write increments in the same atomic step:
//
//   - When the subscription is first in place, the subscriber empties m's
//     cache (m.InvalidateAll), since whatever it holds may predate a
//     revocation made before then, and reads the epoch.
//   - Each message carries the epoch its write made. One that is not the
//     next after the epoch last seen means messages were lost: the
//     subscriber empties the cache.
//   - Each time go-redis subscribes again (after the connection dropped,
//     or Redis restarted), the subscriber reads the epoch, and empties the
//     cache if it moved since the one last seen, belongs to another
//     generation (Redis lost it), or cannot be read. A reconnection that
//     missed nothing keeps the cache.
//   - Every [KeyStoreOptions].ResyncInterval it reads the epoch too: an
//     epoch ahead of the messages received is given until the next check
//     for its messages to arrive (they are usually on their way), and the
//     cache is emptied if they have not. A failed read changes nothing:
//     Redis is then unreachable, and the cache is what keeps the gateway
//     serving the keys it knows until their CacheTTL.
//
// So once the subscription is in place, a key revoked anywhere is refused
// here as soon as its message arrives, or its loss is found: at the
// resubscription, or within two ResyncIntervals while the connection
// stays up. Messages that arrive in order never empty the cache.
//
// Subscribe does not fail when Redis is unreachable, so that a gateway
// starts while Redis is down: it returns once the subscription is in place
// and m resynchronised, or as soon as the first attempt has failed or
// [KeyStoreOptions].Timeout has passed, and the subscriber keeps trying in
// the background (go-redis reconnects), resynchronising m as above when it
// succeeds. Until then, m serves its cache as it would without Subscribe.
// Subscribe returns an error only for a nil m or a ctx already done; its
// goroutines end with ctx. Call it once per Manager, before or after m
// has cached keys (the first subscription empties the cache either way).
func (s *KeyStore) Subscribe(ctx context.Context, m *keys.Manager) error {
	if m == nil {
		return errors.New("redisstore: Subscribe needs a Manager")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	first := make(chan struct{})
	go (&subscriber{s: s, m: m}).run(ctx, first)
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case <-first:
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

// ringRetry is how long a subscriber on a Ring whose shards are all down
// waits before it tries again.
const ringRetry = 100 * time.Millisecond

// subscriber follows the store's channel for one Manager. Only its run
// goroutine uses it.
type subscriber struct {
	s *KeyStore
	m *keys.Manager

	subscribed bool  // the first subscription has been handled
	synced     bool  // seen is the epoch as of what m's cache reflects
	seen       epoch // the epoch last read or received in order
	lagging    epoch // an epoch a check found ahead of seen, if lags
	lags       bool
	// first, until closed, tells Subscribe that the first subscription is
	// handled or the first attempt failed.
	first chan<- struct{}
}

// run subscribes and handles the subscription's messages and
// (re)subscriptions, and the periodic checks, until ctx is done.
func (sub *subscriber) run(ctx context.Context, first chan<- struct{}) {
	sub.first = first
	ps := sub.open(ctx)
	if ps == nil {
		return
	}
	defer ps.Close()
	msgs := ps.ChannelWithSubscriptions()
	var tick <-chan time.Time
	if sub.s.resync > 0 {
		t := time.NewTicker(sub.s.resync)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case v, ok := <-msgs:
			if !ok {
				return
			}
			switch v := v.(type) {
			case *redis.Subscription:
				if v.Kind == "subscribe" && v.Channel == sub.s.channel {
					sub.resubscribed(ctx)
					sub.signal()
				}
			case *redis.Message:
				sub.message(v.Payload)
			}
		case <-tick:
			sub.check(ctx)
		}
	}
}

// open returns a PubSub that holds the store's channel, whether or not its
// first subscription succeeded: go-redis subscribes again as soon as it
// can reach Redis, for as long as the PubSub is open. It returns nil if
// ctx is done first.
func (sub *subscriber) open(ctx context.Context) *redis.PubSub {
	ring, ok := sub.s.client.(*redis.Ring)
	if !ok {
		ps := sub.s.client.Subscribe(ctx) // no channel yet: no connection
		bctx, cancel := bounded(ctx, sub.s.timeout)
		err := ps.Subscribe(bctx, sub.s.channel)
		cancel()
		if err != nil {
			sub.signal() // Subscribe need not wait for a first success
		}
		return ps
	}
	// A Ring chooses the shard when the PubSub is made, and panics when
	// it has none up (or is closed): try again until it has one.
	for {
		if ps := subscribeRing(ctx, ring, sub.s.channel, sub.s.timeout); ps != nil {
			return ps
		}
		sub.signal()
		t := time.NewTimer(ringRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// subscribeRing returns ring's PubSub of channel, or nil if ring has no
// shard to give it.
func subscribeRing(ctx context.Context, ring *redis.Ring, channel string, d time.Duration) (ps *redis.PubSub) {
	defer func() {
		if recover() != nil {
			ps = nil
		}
	}()
	bctx, cancel := bounded(ctx, d)
	defer cancel()
	return ring.Subscribe(bctx, channel)
}

// signal tells Subscribe, once, that it may return.
func (sub *subscriber) signal() {
	if sub.first != nil {
		close(sub.first)
		sub.first = nil
	}
}

// resubscribed resynchronises m after a (re)subscription: every
// revocation from now on arrives as a message; one made before may have
// been missed, which the epoch tells.
func (sub *subscriber) resubscribed(ctx context.Context) {
	cur, err := sub.s.readEpoch(ctx)
	sub.subscribed = true
	sub.lags = false
	if err != nil {
		// Messages from now on are received; what was missed is unknown.
		sub.m.InvalidateAll()
		sub.synced = false
		return
	}
	// Not synced: the first subscription (the cache may hold anything), or
	// the epoch could not be read at the last one.
	if !sub.synced || cur != sub.seen {
		sub.m.InvalidateAll()
	}
	sub.seen, sub.synced = cur, true
}

// message handles a message of the channel.
func (sub *subscriber) message(payload string) {
	e, counted, d, ok := parseInvalidation(payload)
	if !ok {
		return
	}
	sub.m.Invalidate(d)
	if !counted {
		return
	}
	switch {
	case !sub.synced:
		// The cache was emptied at the resubscription, and every message
		// since arrives: this one is a point it reflects.
		sub.seen, sub.synced = e, true
	case e.follows(sub.seen):
		sub.seen = e
	case sub.seen.covers(e):
		// Published between a resubscription and its epoch read, and
		// counted by the read already.
	default:
		// Messages between seen and e were lost.
		sub.m.InvalidateAll()
		sub.seen = e
	}
}

// check is the periodic check of the epoch against the messages received.
func (sub *subscriber) check(ctx context.Context) {
	if !sub.subscribed {
		return // the first subscription will resynchronise m
	}
	cur, err := sub.s.readEpoch(ctx)
	if err != nil {
		return // unreachable: keep the cache; a resubscription follows
	}
	lost := sub.lags && !sub.seen.covers(sub.lagging)
	sub.lags = false
	switch {
	case sub.synced && !lost && cur == sub.seen:
	case sub.synced && !lost && cur.covers(sub.seen):
		// cur is ahead: its messages may be on their way. The next check
		// tells whether they came.
		sub.lagging, sub.lags = cur, true
	default:
		// Messages were lost, or Redis lost the epoch (another
		// generation), or nothing is known since a failed read.
		sub.m.InvalidateAll()
		sub.seen, sub.synced = cur, true
	}
}
