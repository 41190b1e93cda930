// Package redisstore keeps wicket's shared state on Redis, so that every
// replica of a gateway sees the same limits: it implements the core's
// storage seams with github.com/redis/go-redis/v9. It is a module of its own,
// so that the core module needs no Redis client.
//
// It provides now:
//
//   - [LimiterBackend], a [ratelimit.Backend]: request and token buckets
//     (GCRA, in Lua scripts, atomic and one round trip each, driven by the
//     caller's clock) and concurrency slots held as leases that expire if the
//     replica holding them dies mid-request. Put it behind
//     [ratelimit.Failover] to choose, per limit, whether a Redis outage fails
//     open (each replica limits on its own) or closed.
//   - [ThrottleBackend], a [ratelimit.ThrottleBackend]: the failed-auth
//     counts and blocks of a [ratelimit.AuthThrottle], shared by the replicas.
//   - [KeyStore], a [keys.Store]: records, digest and owner indexes, atomic
//     writes; revocations, rotations and deletions are published in the same
//     step, and [KeyStore.Subscribe] makes a replica's keys.Manager drop them
//     from its cache at once. A message lost while a subscriber reconnects
//     leaves that replica on its cache's TTL.
//   - [Ledger], a [metering.Ledger] and [metering.AccountEraser]: budgets
//     reserved atomically across accounts by one Lua script per call, on the
//     caller's clock, with expiring reservations and calendar periods. Put it
//     behind [metering.NewFailoverLedger] to choose what a Redis outage does.
//
// Every key begins with a prefix of the options (by default "wicket:rl:",
// "wicket:at:", "wicket:keys:" and "wicket:ledger:"). Rate-limit and
// throttle keys expire once their state is that of a subject or client
// never seen, so idle ones leave nothing behind. The scripts do their
// arithmetic in whole nanoseconds, exactly; see LimiterBackend and
// ThrottleBackend for the bounds that keeps.
//
// The tests run a real redis-server (7.0 or later) on a free loopback port;
// they fail when there is none.
package redisstore
