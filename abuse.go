package wicket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wicket-gw/wicket/abuse"
	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/ratelimit"
)

// AbuseConfig turns on per-key abuse signals (Config.Abuse): the gateway
// tells an abuse.Detector of every authenticated request (key and client
// address), of the tokens each finished request used, and of each request
// refused by the key's IP allowlist, endpoint scopes or model scopes. For
// each signal it emits an audit.ActionAbuseSignal event (Subject the key
// ID, Reason the signal's kind), applies the Policy's action for its kind,
// if any, and then calls Detector.OnSignal, the application's callback.
//
// The detector's cost is a shard lock and a few counter updates per call,
// with no allocation (BenchmarkAbuse); signals are rare, and their work
// (an audit event, a store update when the policy suspends) is done on the
// goroutine of the request that raised them.
type AbuseConfig struct {
	// Detector configures the detector's thresholds, windows and memory
	// (abuse.Options; zero fields take its defaults). Its OnSignal, if set,
	// is called for each signal after the gateway has acted on it, on the
	// goroutine of the request that raised it; a panic in it is recovered
	// and logged. Its Now defaults to Config.Now.
	Detector abuse.Options
	// Policy maps a kind of signal to what the gateway does to the key that
	// raised it; a kind not in the map is only reported.
	Policy map[abuse.Kind]AbuseAction
}

// AbuseAction is what an abuse policy does to a key that raised a signal,
// and for how long. Exactly one of Suspend and Limits is set.
type AbuseAction struct {
	// Suspend suspends the key in the key store (keys.Manager.Suspend, the
	// signal's kind as the reason) for For, or until lifted (the admin
	// API's POST /keys/{id}/unsuspend) when For is zero. Every gateway
	// sharing the store refuses the key, with 403 api_key_suspended.
	Suspend bool
	// Limits cap the key's rate limits in this process for For: each
	// non-zero field is the most the key gets, whatever its own or the
	// gateway's limits say (a lower one is kept). A later signal replaces
	// the cap and restarts its cool-off.
	Limits ratelimit.Limits
	// For is the cool-off, after which the action undoes itself: the
	// suspension lapses, the cap is dropped. Limits need it; zero with
	// Suspend means until lifted.
	For time.Duration
}

// abuseActionTimeout bounds a policy's store update.
const abuseActionTimeout = 5 * time.Second

// abuseGuard is the gateway's side of abuse signals: the detector, the
// policy and the caps it placed.
type abuseGuard struct {
	g        *Gateway
	det      *abuse.Detector
	policy   map[abuse.Kind]AbuseAction
	onSignal func(abuse.Signal)
	now      func() time.Time

	// caps holds key ID → *abuseCap; active counts its entries, so that a
	// request pays one atomic load while no key is capped.
	caps   sync.Map
	active atomic.Int64
}

// abuseCap is a policy's temporary cap on one key's limits.
type abuseCap struct {
	limits ratelimit.Limits
	until  time.Time
}

// newAbuseGuard validates c and returns the guard for g.
func newAbuseGuard(g *Gateway, c *AbuseConfig) (*abuseGuard, error) {
	for kind, act := range c.Policy {
		field := "wicket: Config.Abuse.Policy[" + kind.String() + "]"
		switch {
		case !kind.Valid():
			return nil, errors.New(field + ": not a kind of signal")
		case act.For < 0:
			return nil, errors.New(field + ".For must not be negative")
		case act.Suspend && act.Limits != (ratelimit.Limits{}):
			return nil, errors.New(field + ": set Suspend or Limits, not both")
		case !act.Suspend && act.Limits == (ratelimit.Limits{}):
			return nil, errors.New(field + ": sets neither Suspend nor Limits")
		case !act.Suspend && act.For == 0:
			return nil, errors.New(field + ".For is required with Limits")
		}
		if err := act.Limits.Validate(); err != nil {
			return nil, fmt.Errorf("%s.Limits: %w", field, err)
		}
	}
	a := &abuseGuard{g: g, policy: c.Policy, onSignal: c.Detector.OnSignal, now: g.cfg.Now}
	opts := c.Detector
	opts.OnSignal = a.signal
	if opts.Now == nil {
		opts.Now = g.cfg.Now
	}
	var err error
	if a.det, err = abuse.New(&opts); err != nil {
		return nil, fmt.Errorf("wicket: Config.Abuse.Detector: %w", err)
	}
	return a, nil
}

// signal acts on one signal: audit, policy, the application's callback.
func (a *abuseGuard) signal(sig abuse.Signal) {
	g := a.g
	reason := audit.Reason(sig.Kind.String())
	g.audit(nil, audit.Event{Action: audit.ActionAbuseSignal, Outcome: audit.OutcomeAllowed, Reason: reason, Subject: sig.KeyID})
	if act, ok := a.policy[sig.Kind]; ok {
		if act.Suspend {
			ctx, cancel := context.WithTimeout(context.Background(), abuseActionTimeout)
			_, err := g.cfg.Keys.Suspend(ctx, sig.KeyID, string(reason), act.For)
			cancel()
			if err != nil {
				g.cfg.Logger.Error("wicket: abuse policy could not suspend the key", slog.String("key_id", sig.KeyID),
					slog.String("signal", sig.Kind.String()), slog.String("error", errorClass(err)))
			}
		} else {
			a.capKey(sig.KeyID, act)
			g.audit(nil, audit.Event{Action: audit.ActionKeyThrottled, Outcome: audit.OutcomeAllowed, Reason: reason, Subject: sig.KeyID})
		}
	}
	if a.onSignal != nil {
		defer g.recoverHook("Abuse.Detector.OnSignal", "")
		a.onSignal(sig)
	}
}

// capKey places act's cap on keyID until now+act.For, replacing any cap it
// had, and drops the caps that have lapsed.
func (a *abuseGuard) capKey(keyID string, act AbuseAction) {
	now := a.now()
	if _, loaded := a.caps.Swap(keyID, &abuseCap{limits: act.Limits, until: now.Add(act.For)}); !loaded {
		a.active.Add(1)
	}
	// Caps are placed once per key and kind per cooldown at most, so a
	// sweep here is rare; it keeps keys that never come back from holding
	// an entry forever.
	a.caps.Range(func(k, v any) bool {
		if !now.Before(v.(*abuseCap).until) && a.caps.CompareAndDelete(k, v) {
			a.active.Add(-1)
		}
		return true
	})
}

// limits returns lim capped as a policy placed on keyID, if it did and
// the cap has not lapsed.
func (a *abuseGuard) limits(keyID string, lim ratelimit.Limits) ratelimit.Limits {
	if a == nil || a.active.Load() == 0 {
		return lim
	}
	v, ok := a.caps.Load(keyID)
	if !ok {
		return lim
	}
	c := v.(*abuseCap)
	if !a.now().Before(c.until) {
		if a.caps.CompareAndDelete(keyID, v) {
			a.active.Add(-1)
		}
		return lim
	}
	capField := func(have *int64, most int64) {
		if most > 0 && (*have == 0 || *have > most) {
			*have = most
		}
	}
	capField(&lim.RequestsPerMinute, c.limits.RequestsPerMinute)
	capField(&lim.TokensPerMinute, c.limits.TokensPerMinute)
	capField(&lim.MaxConcurrent, c.limits.MaxConcurrent)
	return lim
}

// request, tokens and refused tell the detector, if any, of a request.
// Like limits, they do nothing on a nil guard (no Config.Abuse).
func (a *abuseGuard) request(keyID string, ip netip.Addr) {
	if a != nil {
		a.det.Request(keyID, ip)
	}
}

func (a *abuseGuard) tokens(keyID string, n int64) {
	if a != nil && keyID != "" {
		a.det.Tokens(keyID, n)
	}
}

func (a *abuseGuard) refused(keyID string, ip netip.Addr) {
	if a != nil {
		a.det.Refused(keyID, ip)
	}
}

// AbuseStats returns the abuse detector's counters (Config.Abuse); zero
// without one.
func (g *Gateway) AbuseStats() abuse.Stats {
	if g.abuse == nil {
		return abuse.Stats{}
	}
	return g.abuse.det.Stats()
}
