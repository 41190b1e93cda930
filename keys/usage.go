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
}

// UsageSource reports a key's usage for the admin API. The gateway
// implements it (wicket.Gateway.KeyUsage) from its metering ledger, so
// that this package needs nothing of metering.
type UsageSource interface {
	KeyUsage(ctx context.Context, rec *Record) (Usage, error)
}
