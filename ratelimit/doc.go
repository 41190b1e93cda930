// Package ratelimit limits what each subject (a verified API key's ID) may
// ask of the gateway, and throttles client addresses that fail to
// authenticate.
//
// # Limits per subject
//
// A [Limiter] applies three limits, all given per call as a [Limits] value
// (from the gateway's defaults or the key's own overrides; the Limiter keeps no
// per-subject configuration). A limit of zero means unlimited:
//
//   - concurrent requests: a slot is held from [Limiter.Admit] until
//     [Permit.Release];
//   - requests per minute: a token bucket holding RequestsPerMinute requests,
//     refilled continuously at that rate (a full bucket allows a burst of the
//     whole minute's quota);
//   - tokens per minute: a signed-cost bucket of TokensPerMinute tokens.
//     [Permit.ReserveTokens] takes an estimate (see [TokenEstimator]) before the
//     request is forwarded and [Permit.Settle] corrects it to the exact count
//     afterwards, refunding an overestimate or charging an underestimate. The
//     bucket may go negative; a subject in debt waits until it has refilled.
//
// The checks run in that order (concurrency, requests, tokens), and a request
// refused by one limit consumes nothing from the others: a refusal gives back
// what the earlier checks took.
//
// A refusal is a [*LimitError] (errors.Is(err, [ErrLimited]) or, for a request
// that could never fit, [ErrTooLarge]) carrying a [Decision], from which
// [WriteHeaders] writes the retry-after and x-ratelimit-* headers that the
// official OpenAI SDKs read. [Limiter.Middleware] wraps an http.Handler with
// the concurrency and request limits.
//
// # Backends
//
// State lives in a [Backend]: [Memory], the in-process default, or a
// distributed implementation (the redisstore module) for fleets of replicas.
// The Limiter owns the shared logic (order of checks, refunds, errors) and a
// Backend provides only primitive operations on buckets and slots; the
// ratelimittest package holds the conformance suite every Backend must pass.
//
// Memory's state is bounded by an LRU of subjects that evicts only idle state
// (full buckets, no held slots), so eviction never hands a busy subject a
// fresh bucket; when no idle subject can be found, a new subject is refused
// with [ErrCapacity].
//
// # Failed authentication
//
// An [AuthThrottle] counts failed authentications per client address (IPv6
// grouped by prefix) and blocks an address for a cool-down after too many,
// before any key hashing or store lookup is done. Its counts and blocks
// live in a [ThrottleBackend]: a [MemoryThrottle] by default, or a shared
// one so that a fleet of replicas blocks an address together (backend
// authors prove theirs with ratelimittest.RunThrottleBackendTests). On a
// backend error it applies its FailMode: failing open (the default), it goes
// on with a local MemoryThrottle; failing closed, Blocked returns an error
// the gateway answers with 503. Fallbacks are counted
// ([AuthThrottle.Fallbacks]) and told to AuthThrottleOptions.OnFallback.
//
// # Shared backends
//
// A [Backend] that is a network away (the redisstore module's) may also
// implement [Batcher], so that a request is admitted (slot, request and
// tokens) in one step and finished (token correction and slot) in one
// more, and [Carrier], so that the finish carries another store's call (a
// budget ledger's settlement) in the same round trip; [Failover] puts fail
// modes in front of either.
//
// # Time
//
// Nothing here sleeps or starts a goroutine. The Limiter reads time from an
// injectable clock ([Options].Now) and AuthThrottle's methods take the time as
// an argument, so tests advance time by hand.
package ratelimit
