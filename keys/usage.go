package keys

import (
	"context"
	"time"
)

// Usage is a key's consumption in its current budget period, as the admin
// API shows it.
type Usage struct {
	// Period is the key's budget period, or the period spend is tracked
	// over when it has no budget.
	Period Period `json:"period"`
	// PeriodStart and PeriodEnd bound the period; zero for PeriodTotal.
	PeriodStart time.Time `json:"period_start,omitzero"`
	PeriodEnd   time.Time `json:"period_end,omitzero"`
	// SpentMicros is what the key's settled calls cost in the period.
	SpentMicros int64 `json:"spent_micros"`
	// ReservedMicros is held by calls still under way.
	ReservedMicros int64 `json:"reserved_micros"`
	// RemainingMicros is what the budget still allows; absent when the
	// key has no budget.
	RemainingMicros *int64 `json:"remaining_micros,omitempty"`
	// Requests, InputTokens and OutputTokens count the key's calls in the
	// period, as far as the UsageSource knows them (a gateway counts its
	// own process's calls).
	Requests     int64 `json:"requests"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// Budgets lists every budget the key's calls are charged to, its own
	// first, then its model budgets, then those the application adds (an
	// owner's, a team's), each in its current period.
	Budgets []BudgetUsage `json:"budgets,omitempty"`
}

// BudgetUsage is one budget a key's calls are charged to, in its current
// period.
type BudgetUsage struct {
	// Kind and ID name the budget's account: "key" (the key's account),
	// "key_model" (a model budget of the key), "owner", or a kind the
	// application chose, such as "team".
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Model is a model budget's pattern.
	Model  string `json:"model,omitempty"`
	Period Period `json:"period"`
	// PeriodStart and PeriodEnd bound the period; zero for PeriodTotal.
	PeriodStart time.Time `json:"period_start,omitzero"`
	PeriodEnd   time.Time `json:"period_end,omitzero"`
	// LimitMicros is the budget's limit; zero means spend is only tracked.
	LimitMicros    int64 `json:"limit_micros"`
	SpentMicros    int64 `json:"spent_micros"`
	ReservedMicros int64 `json:"reserved_micros"`
	// RemainingMicros is what the budget still allows; absent without a
	// limit.
	RemainingMicros *int64 `json:"remaining_micros,omitempty"`
}

// UsageSource reports a key's usage for the admin API. The gateway
// implements it (wicket.Gateway.KeyUsage) from its metering ledger, so
// that this package needs nothing of metering.
type UsageSource interface {
	KeyUsage(ctx context.Context, rec *Record) (Usage, error)
}
