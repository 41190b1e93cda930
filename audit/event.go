package audit

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
)

// Event describes one audited action. The gateway emits exactly one Event
// per key lifecycle action, admin API call, failed authentication, block,
// exhausted budget and crossed rate limit.
//
// Event carries no content, by construction: every string field is an
// identifier (an ID, a key's display hint, a route pattern, an enumerated
// action, outcome or reason), and every other field is a time or an
// address. No field can hold a prompt, a completion, a header, a body or a
// full API key, and a test fails if a field able to carry text is added
// without being reviewed as an identifier. Auditor.Emit cuts identifiers
// longer than MaxIDLen bytes, so that a client cannot park a large payload
// in, say, a key ID it made up.
//
// The zero Event is valid and describes nothing. Event is a plain value:
// copy it freely.
type Event struct {
	// Time is when the action happened. Auditor.Emit sets it to the current
	// time when it is zero.
	Time time.Time `json:"time"`
	// Action is what happened, such as ActionKeyRevoked.
	Action Action `json:"action"`
	// Outcome says whether the action was allowed, refused or failed.
	Outcome Outcome `json:"outcome"`
	// Reason says why, for a refusal or failure: a short enumerated word
	// such as ReasonRevokedKey, never text a client wrote.
	Reason Reason `json:"reason,omitempty"`
	// ActorKeyID is the public ID of the API key that acted (the admin key
	// calling the admin API, the key that made a refused request); empty
	// when the key is unknown or the action was taken by the application
	// itself rather than through a key.
	ActorKeyID string `json:"actor_key_id,omitempty"`
	// ActorKeyHint is the display form of the key presented, as
	// keys.Format.Hint gives it (prefix and last four characters), for
	// telling apart keys that failed to authenticate. Never the key itself.
	ActorKeyHint string `json:"actor_key_hint,omitempty"`
	// Subject is the ID of what was acted on: the key issued, rotated,
	// revoked or deleted, the key or owner an admin call addressed, the
	// budget account exhausted.
	Subject string `json:"subject,omitempty"`
	// ReplacedBy is, for ActionKeyRotated, the ID of the successor key
	// (keys.Record.ReplacedBy); empty for other actions.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// Owner is the ID of the owner (a user, team or tenant) of the Subject,
	// or of the acting key when there is no Subject.
	Owner string `json:"owner,omitempty"`
	// Operation is, for ActionAdminRequest, the admin API route pattern
	// called, such as "POST /keys/{id}/rotate": the pattern, never the URL.
	Operation string `json:"operation,omitempty"`
	// ClientIP is the client's address as the gateway determined it
	// (trusted proxies only); the zero Addr when unknown.
	ClientIP netip.Addr `json:"client_ip,omitzero"`
	// RequestID is the gateway's ID for the request during which the action
	// happened; empty for actions taken outside a request.
	RequestID string `json:"request_id,omitempty"`
}

// Action names what happened. The zero Action is empty. See the package
// documentation for the naming scheme.
type Action string

// The actions the gateway emits.
const (
	// ActionKeyIssued: a key was created. Subject is its ID, Owner its
	// owner; Outcome is OutcomeAllowed.
	ActionKeyIssued Action = "key.issued"
	// ActionKeyRotated: a key was given a successor. Subject is the old
	// key's ID, ReplacedBy the successor's; Outcome is OutcomeAllowed.
	ActionKeyRotated Action = "key.rotated"
	// ActionKeyRevoked: a key was revoked. Subject is its ID; Outcome is
	// OutcomeAllowed.
	ActionKeyRevoked Action = "key.revoked"
	// ActionKeyDeleted: a key was deleted. Subject is its ID; Outcome is
	// OutcomeAllowed.
	ActionKeyDeleted Action = "key.deleted"
	// ActionKeyLeaked: a secret scanner (GitHub's secret scanning partner
	// program) reported a key found in public, and the application's
	// response to it (revocation, by default) was applied. Subject is the
	// key's ID, Owner its owner, ActorKeyHint its display hint: never the
	// key, never where it was found. Outcome is OutcomeAllowed, or
	// OutcomeFailed (Reason ReasonInternal) when the response failed.
	ActionKeyLeaked Action = "key.leaked"
	// ActionKeySuspended: a key was suspended (keys.Manager.Suspend): held
	// out of use until the suspension lapses or is lifted. Subject is its
	// ID, Owner its owner, Reason the suspension's reason (such as
	// ReasonLeaked or an abuse signal's kind); Outcome is OutcomeAllowed.
	ActionKeySuspended Action = "key.suspended"
	// ActionKeyUnsuspended: a key's suspension was lifted before it lapsed.
	// Subject is its ID, Owner its owner; Outcome is OutcomeAllowed.
	ActionKeyUnsuspended Action = "key.unsuspended"
	// ActionAbuseSignal: a key behaved unlike itself (package abuse).
	// Subject is its ID, Reason the signal's kind (ReasonRateJump,
	// ReasonTokenJump, ReasonNetworkSpread, ReasonRefusalBurst); Outcome is
	// OutcomeAllowed.
	ActionAbuseSignal Action = "abuse.signal"
	// ActionKeyThrottled: an abuse policy gave a key tighter rate limits
	// for a while. Subject is its ID, Reason the signal's kind; Outcome is
	// OutcomeAllowed.
	ActionKeyThrottled Action = "key.throttled"
	// ActionAdminRequest: an admin API call, whatever its result. Operation
	// is the route pattern, Subject the key or owner it addressed, Outcome
	// OutcomeAllowed, OutcomeRefused (with a Reason) or OutcomeFailed.
	ActionAdminRequest Action = "admin.request"
	// ActionAuthFailed: a request's key was missing, malformed, unknown,
	// revoked, expired or not allowed there. Reason says which;
	// ActorKeyHint tells the key presented; Outcome is OutcomeRefused.
	ActionAuthFailed Action = "auth.failed"
	// ActionIPBlocked: the failed-auth throttle started blocking ClientIP.
	// Outcome is OutcomeRefused, Reason ReasonTooManyFailures.
	ActionIPBlocked Action = "ip.blocked"
	// ActionBudgetExhausted: a request was refused because a budget could
	// not cover it. Subject is the account's ID, Reason its kind
	// (ReasonKeyBudget, ReasonOwnerBudget, ReasonModelBudget,
	// ReasonScopeBudget); Outcome is OutcomeRefused.
	ActionBudgetExhausted Action = "budget.exhausted"
	// ActionBudgetChanged: a key's budget was set or topped up
	// (keys.Manager.SetBudget, TopUp). Subject is the key's ID, Owner its
	// owner; Outcome is OutcomeAllowed.
	ActionBudgetChanged Action = "budget.changed"
	// ActionRateLimitExceeded: a request was refused by a rate or
	// concurrency limit. Reason says which (ReasonRequests, ReasonTokens,
	// ReasonConcurrency); Outcome is OutcomeRefused.
	ActionRateLimitExceeded Action = "ratelimit.exceeded"
	// ActionOwnerErased: everything the deployment held for an owner was
	// erased (the gateway's EraseOwner). Owner names it; Outcome is
	// OutcomeAllowed, or OutcomeFailed when the erasure stopped on an
	// error.
	ActionOwnerErased Action = "owner.erased"
)

// Outcome says how an action ended. The zero Outcome is empty.
type Outcome string

// The outcomes.
const (
	// OutcomeAllowed: the action was permitted and took place.
	OutcomeAllowed Outcome = "allowed"
	// OutcomeRefused: the gateway refused the action (authentication,
	// permission, throttle, limit, budget).
	OutcomeRefused Outcome = "refused"
	// OutcomeFailed: the action was permitted but an error stopped it (a
	// store was unavailable, say).
	OutcomeFailed Outcome = "failed"
)

// Reason is a short enumerated cause of a refusal or failure. The empty
// Reason, the zero value, gives none. Applications may define further
// reasons: short lower-case snake_case words.
type Reason string

// The reasons the gateway gives.
const (
	ReasonMissingKey      Reason = "missing_key"       // no key was presented
	ReasonMalformedKey    Reason = "malformed_key"     // not of the application's key format
	ReasonUnknownKey      Reason = "unknown_key"       // well formed, but no store holds it
	ReasonRevokedKey      Reason = "revoked_key"       // the key was revoked
	ReasonExpiredKey      Reason = "expired_key"       // the key, or its rotation grace, expired
	ReasonSuspendedKey    Reason = "suspended_key"     // the key is suspended
	ReasonLeaked          Reason = "leaked"            // a secret scanner found the key in public
	ReasonRateJump        Reason = "rate_jump"         // the key's request rate jumped above its baseline
	ReasonTokenJump       Reason = "token_jump"        // the key's token rate jumped above its baseline
	ReasonNetworkSpread   Reason = "network_spread"    // the key was used from too many client networks
	ReasonRefusalBurst    Reason = "refusal_burst"     // the key was refused its scope or allowlist too often
	ReasonForbidden       Reason = "forbidden"         // valid key, not allowed this use (IP, endpoint, model, admin route)
	ReasonNotFound        Reason = "not_found"         // the subject does not exist, or is another owner's
	ReasonInvalid         Reason = "invalid_request"   // the request failed validation
	ReasonTooManyFailures Reason = "too_many_failures" // the failed-auth throttle's limit was reached
	ReasonKeyBudget       Reason = "key_budget"        // the key's own budget is spent
	ReasonOwnerBudget     Reason = "owner_budget"      // the owner's budget is spent
	ReasonModelBudget     Reason = "model_budget"      // the key's budget for the model is spent
	ReasonScopeBudget     Reason = "scope_budget"      // a budget the application added (a team's, say) is spent
	ReasonRequests        Reason = "requests"          // the requests-per-minute limit
	ReasonTokens          Reason = "tokens"            // the tokens-per-minute limit
	ReasonConcurrency     Reason = "concurrency"       // the concurrent-requests limit
	ReasonInternal        Reason = "internal"          // the gateway or a store failed
)

// MaxIDLen is the longest identifier, in bytes, that Auditor.Emit keeps in
// an Event's string fields; longer ones are cut at a UTF-8 boundary.
const MaxIDLen = 256

// MaxWordLen is the longest Action, Outcome or Reason Emit keeps.
const MaxWordLen = 64

// invalidWord replaces an Action, Outcome or Reason not in the documented
// form.
const invalidWord = "invalid"

// limit makes e safe to queue: identifiers cut to MaxIDLen, enumerated
// words checked. It allocates only to cut.
func (e *Event) limit() {
	for _, s := range [...]*string{
		&e.ActorKeyID, &e.ActorKeyHint, &e.Subject, &e.ReplacedBy,
		&e.Owner, &e.Operation, &e.RequestID,
	} {
		*s = cutID(*s)
	}
	if !IsWord(string(e.Action)) {
		e.Action = invalidWord
	}
	if !IsWord(string(e.Outcome)) {
		e.Outcome = invalidWord
	}
	if !IsWord(string(e.Reason)) {
		e.Reason = invalidWord
	}
}

// cutID returns s cut to at most MaxIDLen bytes at a UTF-8 boundary; a cut
// string is a copy, so that it does not keep a large backing array alive.
func cutID(s string) string {
	if len(s) <= MaxIDLen {
		return s
	}
	n := MaxIDLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

// IsWord reports whether s is empty or an enumerated word, as Action,
// Outcome and Reason must be: at most MaxWordLen bytes of lower-case ASCII
// letters, digits, '.', '_' and '-'. Emit replaces any other with
// "invalid"; a caller that takes a Reason from elsewhere (a key's
// suspension, say) checks it with IsWord first.
func IsWord(s string) bool {
	if len(s) > MaxWordLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// LogValue returns the event as a group of its non-empty fields, under the
// names of their JSON encoding, so that logging an Event shows exactly the
// allowlisted fields.
func (e Event) LogValue() slog.Value {
	var buf [12]slog.Attr
	return slog.GroupValue(e.appendAttrs(buf[:0], true)...)
}

// appendAttrs appends e's non-empty fields to attrs, its time only if
// withTime.
func (e *Event) appendAttrs(attrs []slog.Attr, withTime bool) []slog.Attr {
	if withTime && !e.Time.IsZero() {
		attrs = append(attrs, slog.Time("time", e.Time))
	}
	attrs = append(attrs,
		slog.String("action", string(e.Action)),
		slog.String("outcome", string(e.Outcome)))
	for _, f := range [...]struct{ key, val string }{
		{"reason", string(e.Reason)},
		{"actor_key_id", e.ActorKeyID},
		{"actor_key_hint", e.ActorKeyHint},
		{"subject", e.Subject},
		{"replaced_by", e.ReplacedBy},
		{"owner", e.Owner},
		{"operation", e.Operation},
	} {
		if f.val != "" {
			attrs = append(attrs, slog.String(f.key, f.val))
		}
	}
	if e.ClientIP.IsValid() {
		attrs = append(attrs, slog.String("client_ip", e.ClientIP.String()))
	}
	if e.RequestID != "" {
		attrs = append(attrs, slog.String("request_id", e.RequestID))
	}
	return attrs
}
