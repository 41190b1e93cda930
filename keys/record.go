package keys

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wicket-gw/wicket/internal/glob"
)

// Role says what a key may do in the admin API.
type Role string

// Roles.
const (
	// RoleUser keys call models; in the admin API they may list, read and
	// revoke their own owner's keys only.
	RoleUser Role = "user"
	// RoleAdmin keys may manage every key.
	RoleAdmin Role = "admin"
)

// Period is the span over which a budget is counted, aligned to the UTC
// calendar.
type Period string

// Budget periods.
const (
	PeriodTotal   Period = "total"   // never resets
	PeriodDaily   Period = "daily"   // resets at 00:00 UTC
	PeriodMonthly Period = "monthly" // resets at 00:00 UTC on the 1st
	PeriodWeekly  Period = "weekly"  // resets at 00:00 UTC on Mondays
)

// Limits caps a key's traffic. A zero field means the gateway's default.
type Limits struct {
	RequestsPerMinute int64 `json:"requests_per_minute,omitempty"`
	TokensPerMinute   int64 `json:"tokens_per_minute,omitempty"`
	MaxConcurrent     int64 `json:"max_concurrent,omitempty"`
}

// Budget caps a key's spend in integer micro-dollars (1 USD = 1,000,000)
// per Period. A zero Limit means no budget.
type Budget struct {
	LimitMicros int64  `json:"limit_micros,omitempty"`
	Period      Period `json:"period,omitempty"`
}

// ModelBudget caps a key's spend on the models whose public name matches
// Model (a pattern, as in Scopes) per Period, on top of its Budget, which
// covers every model: "$5 a month on gpt-4o*" beside "$20 a month in all".
// Every ModelBudget whose pattern matches a call's model is charged.
type ModelBudget struct {
	Model       string `json:"model"`
	LimitMicros int64  `json:"limit_micros"`
	Period      Period `json:"period,omitempty"`
}

// validate checks the budget's limit and period.
func (b Budget) validate() error {
	if b.LimitMicros < 0 {
		return fmt.Errorf("%w: budget must not be negative", ErrInvalid)
	}
	switch b.Period {
	case "", PeriodTotal, PeriodDaily, PeriodWeekly, PeriodMonthly:
	default:
		return fmt.Errorf("%w: budget period must be %q, %q, %q or %q", ErrInvalid, PeriodTotal, PeriodDaily, PeriodWeekly, PeriodMonthly)
	}
	return nil
}

// Scopes restricts what a key may call. An empty list allows everything.
// Patterns are matched whole; '*' matches any run of characters, so
// "gpt-4o*" matches "gpt-4o" and "gpt-4o-mini", and "/v1/*" every path
// under /v1/.
type Scopes struct {
	Models    []string `json:"models,omitempty"`
	Endpoints []string `json:"endpoints,omitempty"`
}

// AllowsModel reports whether the scopes allow the public model name.
func (s Scopes) AllowsModel(model string) bool { return matchAny(s.Models, model) }

// AllowsEndpoint reports whether the scopes allow the request path.
func (s Scopes) AllowsEndpoint(path string) bool { return matchAny(s.Endpoints, path) }

func matchAny(patterns []string, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if glob.Match(p, s) {
			return true
		}
	}
	return false
}

// Spec is what the caller chooses when issuing a key. Everything else in a
// Record is set by the Manager.
type Spec struct {
	// Owner groups keys, typically the application's user or team ID.
	// Required.
	Owner string `json:"owner"`
	// Name is a free label for people, such as "ci" or "laptop".
	Name string `json:"name,omitempty"`
	// Role defaults to RoleUser.
	Role Role `json:"role,omitempty"`
	// Scopes restrict models and endpoints; empty allows all.
	Scopes Scopes `json:"scopes,omitzero"`
	// AllowedIPs restricts client addresses; empty allows all.
	AllowedIPs []netip.Prefix `json:"allowed_ips,omitempty"`
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Limits override the gateway's default limits.
	Limits Limits `json:"limits,omitzero"`
	// Budget caps spend; zero means none.
	Budget Budget `json:"budget,omitzero"`
	// ModelBudgets cap spend on some models; at most MaxModelBudgets.
	ModelBudgets []ModelBudget `json:"model_budgets,omitempty"`
	// Metadata holds at most MaxMetadata application-defined pairs.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Bounds on Spec fields, so that a record's size is bounded.
const (
	MaxOwnerLen       = 128
	MaxNameLen        = 128
	MaxPatterns       = 64
	MaxPatternLen     = 256
	MaxAllowedIPs     = 64
	MaxMetadata       = 16
	MaxMetadataKeyLen = 64
	MaxMetadataValLen = 512
	MaxModelBudgets   = 16
)

// Validate checks the Spec's fields and bounds.
func (s *Spec) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if err := checkText("owner", s.Owner, MaxOwnerLen); err != nil {
		return err
	}
	if s.Owner == "" {
		return bad("owner is required")
	}
	if err := checkText("name", s.Name, MaxNameLen); err != nil {
		return err
	}
	switch s.Role {
	case "", RoleUser, RoleAdmin:
	default:
		return bad("role must be %q or %q", RoleUser, RoleAdmin)
	}
	for _, list := range [][]string{s.Scopes.Models, s.Scopes.Endpoints} {
		if len(list) > MaxPatterns {
			return bad("at most %d scope patterns", MaxPatterns)
		}
		for _, p := range list {
			if p == "" || len(p) > MaxPatternLen || !utf8.ValidString(p) {
				return bad("scope patterns must be 1 to %d bytes of UTF-8", MaxPatternLen)
			}
		}
	}
	if len(s.AllowedIPs) > MaxAllowedIPs {
		return bad("at most %d allowed IP prefixes", MaxAllowedIPs)
	}
	for _, p := range s.AllowedIPs {
		if !p.IsValid() {
			return bad("allowed IP prefixes must be valid CIDRs")
		}
	}
	if s.Limits.RequestsPerMinute < 0 || s.Limits.TokensPerMinute < 0 || s.Limits.MaxConcurrent < 0 {
		return bad("limits must not be negative")
	}
	if err := s.Budget.validate(); err != nil {
		return err
	}
	if len(s.ModelBudgets) > MaxModelBudgets {
		return bad("at most %d model budgets", MaxModelBudgets)
	}
	for i, mb := range s.ModelBudgets {
		if mb.Model == "" || len(mb.Model) > MaxPatternLen || !utf8.ValidString(mb.Model) {
			return bad("model budget patterns must be 1 to %d bytes of UTF-8", MaxPatternLen)
		}
		if mb.LimitMicros <= 0 {
			return bad("model budgets need a positive limit_micros")
		}
		if err := (Budget{LimitMicros: mb.LimitMicros, Period: mb.Period}).validate(); err != nil {
			return err
		}
		for _, other := range s.ModelBudgets[:i] {
			if other.Model == mb.Model && other.Period == mb.Period {
				return bad("model budgets list one pattern and period twice")
			}
		}
	}
	if len(s.Metadata) > MaxMetadata {
		return bad("at most %d metadata entries", MaxMetadata)
	}
	for k, v := range s.Metadata {
		if k == "" {
			return bad("metadata keys must not be empty")
		}
		if err := checkText("metadata key", k, MaxMetadataKeyLen); err != nil {
			return err
		}
		if len(v) > MaxMetadataValLen || !utf8.ValidString(v) {
			return bad("metadata values must be at most %d bytes of UTF-8", MaxMetadataValLen)
		}
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %s must be at most %d bytes of printable UTF-8", ErrInvalid, field, max)
	}
	return nil
}

// Record is what a Store keeps for one key: never the key itself, only its
// digest. Records returned by a Store or the Manager are the caller's own
// copies, except the one Verify returns (and the middleware puts in the
// request context), which is shared and must be treated as read-only.
type Record struct {
	// ID is the key's public identifier, used by admin operations.
	ID string `json:"id"`
	// Digest is the HMAC of the key. It is omitted from JSON so that admin
	// responses cannot carry it; a store that serializes records to JSON
	// keeps it separately (it is the lookup index anyway).
	Digest Digest `json:"-"`
	// PepperVersion is the version of the pepper Digest was computed with.
	PepperVersion uint32 `json:"-"`
	// Hint is the display form: the prefix and the last four characters.
	Hint string `json:"hint"`

	Owner      string         `json:"owner"`
	Name       string         `json:"name,omitempty"`
	Role       Role           `json:"role"`
	Scopes     Scopes         `json:"scopes,omitzero"`
	AllowedIPs []netip.Prefix `json:"allowed_ips,omitempty"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`
	Limits     Limits         `json:"limits,omitzero"`
	Budget     Budget         `json:"budget,omitzero"`
	// ModelBudgets cap spend on some models (Spec.ModelBudgets).
	ModelBudgets []ModelBudget     `json:"model_budgets,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`

	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// ReplacedBy is the ID of the key that a rotation issued in its place.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// AccountID names the budget and usage account the key is charged to.
	// Issue sets it to the key's own ID; Rotate gives the successor its
	// predecessor's, so that a rotated key keeps its spend and budget.
	AccountID string `json:"account_id,omitempty"`
	// Suspension, while active, holds the key out of use without revoking
	// it (Manager.Suspend); the zero Suspension means none.
	Suspension Suspension `json:"suspension,omitzero"`
}

// Account returns the account the key is charged to: AccountID, or ID for
// a record stored before AccountID existed.
func (r *Record) Account() string { return cmp.Or(r.AccountID, r.ID) }

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	c.Scopes.Models = slices.Clone(r.Scopes.Models)
	c.Scopes.Endpoints = slices.Clone(r.Scopes.Endpoints)
	c.AllowedIPs = slices.Clone(r.AllowedIPs)
	c.Metadata = maps.Clone(r.Metadata)
	c.ModelBudgets = slices.Clone(r.ModelBudgets)
	return &c
}

// Spec returns the chosen attributes of r, as a rotation copies them.
func (r *Record) Spec() Spec {
	c := r.Clone()
	return Spec{
		Owner: c.Owner, Name: c.Name, Role: c.Role, Scopes: c.Scopes, AllowedIPs: c.AllowedIPs,
		ExpiresAt: c.ExpiresAt, Limits: c.Limits, Budget: c.Budget, ModelBudgets: c.ModelBudgets, Metadata: c.Metadata,
	}
}

// AllowsIP reports whether the client address may use the key. An invalid
// address is allowed only when the key has no allowlist. IPv4-mapped IPv6
// addresses are matched as IPv4.
func (r *Record) AllowsIP(ip netip.Addr) bool {
	if len(r.AllowedIPs) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range r.AllowedIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Active reports whether the key is usable at now: neither revoked, expired
// nor suspended.
func (r *Record) Active(now time.Time) bool { return r.check(now) == nil }

// check returns why the key is not usable at now: ErrRevoked, ErrExpired or
// ErrSuspended, in that order; nil if it is.
func (r *Record) check(now time.Time) error {
	if !r.RevokedAt.IsZero() {
		return ErrRevoked
	}
	if !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) {
		return ErrExpired
	}
	if r.Suspension.Active(now) {
		return ErrSuspended
	}
	return nil
}
