package redisstore_test

import (
	"testing"
	"time"

	"github.com/wicket-gw/wicket/redisstore"
	"github.com/wicket-gw/wicket/redisstore/internal/redistest"
)

// TestKeyStoreClusterSubscribe: on a Redis Cluster of three masters, with
// the default prefix, the scripts run (their keys share the hash tag's
// slot), a revocation reaches a subscribed replica as a message in order,
// and a write whose message is lost is caught by the periodic check.
func TestKeyStoreClusterSubscribe(t *testing.T) {
	cl, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	c := cl.Client(t)
	const interval = 50 * time.Millisecond
	sa := newKeyStoreWith(t, cl.Client(t), nil)
	sb := newKeyStoreWith(t, cl.Client(t), &redisstore.KeyStoreOptions{Timeout: eventuallyWithin, ResyncInterval: interval})
	a, b := newManager(t, sa), newManager(t, sb)
	if err := sb.Subscribe(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	p := redisstore.DefaultKeyPrefix
	keep, keepRec := issue(t, a)
	cached(t, b, keep)
	revoked, r := issue(t, a)
	cached(t, b, revoked)
	forget(t, c, p, keepRec)
	if _, err := a.Revoke(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica refuses the revoked key", func() bool { return refuses(t, b, revoked) })
	time.Sleep(4 * interval) // checks find nothing amiss
	if refuses(t, b, keep) {
		t.Fatal("a message in order emptied the cache")
	}
	if err := c.HIncrBy(t.Context(), p+"epoch", "n", 1).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the periodic check empties the cache after a lost message", func() bool { return refuses(t, b, keep) })
	if n, err := a.DeleteOwner(t.Context(), "alice"); err != nil || n != 1 {
		t.Errorf("DeleteOwner = %d, %v; want 1, nil", n, err)
	}
}
