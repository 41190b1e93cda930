// Package redisstore keeps wicket's shared state on Redis, so that every
// replica of a gateway sees the same keys, limits and budgets: it implements
// the core's storage seams with github.com/redis/go-redis/v9. It is a module
// of its own, so that the core module needs no Redis client.
//
//   - [LimiterBackend], a [ratelimit.Backend] and [ratelimit.Batcher]: request
//     and token buckets (GCRA, in Lua scripts of this package, driven by the
//     caller's clock) and concurrency slots held as leases that expire if the
//     replica holding them dies mid-request. A request is admitted (slot,
//     request and tokens) by one script and finished (token correction and
//     slot) by another, which carries the Ledger's settlement in the same
//     pipeline ([ratelimit.Carrier]): one round trip each.
//   - [ThrottleBackend], a [ratelimit.ThrottleBackend]: the failed-auth
//     counts and blocks of a [ratelimit.AuthThrottle], shared by the replicas.
//   - [KeyStore], a [keys.Store]: records, digest and owner indexes, atomic
//     writes. Revocations, rotations and deletions are published, with a
//     revocation epoch, in the same step, and [KeyStore.Subscribe] makes a
//     replica's keys.Manager drop them from its cache at once; a replica that
//     missed messages (its subscription was down, Redis restarted) sees the
//     epoch move and empties its cache.
//   - [Ledger], a [metering.Ledger] and [metering.AccountEraser]: budgets
//     reserved atomically across accounts by one Lua script per call, on the
//     caller's clock, with expiring reservations and calendar periods.
//
// # Round trips
//
// With every store on Redis and a key already verified by the replica, a
// model call costs three round trips: two before it goes upstream (the
// limits, the budget) and one once it ends (the limits' token correction
// and slot, and the budget's settlement, in one pipeline, when the
// LimiterBackend and the Ledger share a client). The failed-auth throttle
// is asked only for keys the replica has not verified, and the key store
// only on a cache miss.
//
// # Failures and deadlines
//
// Every call is bounded by its options' Timeout (DefaultTimeout, 100 ms,
// unless set), so that no request waits on an unreachable or frozen server
// for longer. A client with go-redis's ContextTimeoutEnabled is cut off by
// the client itself; for any other, each call runs in a goroutine of its own
// and is abandoned at the deadline (its connection is returned when the
// client gives up): set ContextTimeoutEnabled to spare that goroutine. Size
// the client's PoolSize for the requests in flight: a call waiting for a
// pooled connection counts against its deadline.
//
// What a failure does is the core's choice, not this package's: put the
// LimiterBackend behind [ratelimit.Failover] (per limit: fail open on a local
// in-memory backend, or closed with 503), the ThrottleBackend behind
// AuthThrottleOptions.FailMode, and the Ledger behind
// [metering.NewFailoverLedger] (budgets fail closed by default). Both
// wrappers hold the shared store off for a second after three failures in a
// row, so that during an outage only the first requests wait for a deadline
// and the rest get their fail mode at once. Constructors
// never dial: a gateway starts while Redis is down and recovers when it
// returns, and KeyStore.Subscribe keeps retrying in the background.
//
// A call that times out after Redis ran it leaves its effect: a slot lease
// until its LeaseTTL, a reservation until the Ledger's TTL.
//
// # Keys and Redis Cluster
//
// Every key begins with a prefix of the options (by default "wicket:rl:",
// "wicket:at:", "{wicket:keys}:" and "{wicket:ledger}:"). The limiter's keys
// carry their subject as a hash tag and the throttle's are one per client,
// so on Redis Cluster both spread over the shards. The key store's and the
// ledger's scripts touch several keys, so their prefixes hold a hash tag that
// puts each store in one slot (NewLedger requires one; NewKeyStore requires
// one on a cluster client). The tests run every conformance suite on a
// three-node cluster as well as on a single server. Valkey runs the same
// commands and scripts; it is not tested here. Rate-limit and throttle keys
// expire once their state is that of a subject or client never seen, so idle
// ones leave nothing behind. The scripts do their arithmetic in whole
// nanoseconds, exactly; see LimiterBackend and ThrottleBackend for the bounds
// that keeps.
//
// The tests run real redis-server processes (7.0 or later) on free loopback
// ports; they fail when there is none.
package redisstore
