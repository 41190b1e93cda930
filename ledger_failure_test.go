package wicket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/metering"
)

// downLedger is a Ledger whose every operation fails, as a shared one does
// when its server is unreachable.
type downLedger struct{}

var errLedgerDown = errors.New("ledger unreachable")

func (downLedger) Reserve(context.Context, []metering.Account, int64) (string, error) {
	return "", errLedgerDown
}
func (downLedger) Settle(context.Context, string, int64) error { return errLedgerDown }
func (downLedger) Release(context.Context, string) error       { return errLedgerDown }
func (downLedger) Balance(context.Context, metering.Account) (metering.Balance, error) {
	return metering.Balance{}, errLedgerDown
}

// When the ledger fails, a key with a budget is refused (503: a budget is
// not spent blind), and a key without one is served: its account only
// tracks spend, and the metering event still carries the cost.
func TestLedgerDown(t *testing.T) {
	up := newUpstream(t, okUpstream)
	e := newEnv(t, single("gpt-4o-mini", up.provider(t, "openai"), ""), func(c *wicket.Config) { c.Ledger = downLedger{} })
	budgeted, _, err := e.km.Issue(t.Context(), keys.Spec{Owner: "alice", Budget: keys.Budget{LimitMicros: 1_000_000, Period: keys.PeriodMonthly}})
	if err != nil {
		t.Fatal(err)
	}
	resp := e.do(t, "POST", "/v1/chat/completions", chat("gpt-4o-mini"), map[string]string{"Authorization": "Bearer " + budgeted})
	body := readAll(t, resp)
	if resp.StatusCode != 503 || *decodeErr(t, body).Error.Code != "service_unavailable" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("budgeted key, ledger down: %d %s (Retry-After %q); want 503 service_unavailable, Retry-After 1", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	<-e.outcome
	resp = e.post(t, "/v1/chat/completions", chat("gpt-4o-mini"))
	body = readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("key without a budget, ledger down: %d %s; want 200", resp.StatusCode, body)
	}
	if o := <-e.outcome; o.CostMicros == 0 || o.Usage.Total() == 0 {
		t.Errorf("event of the untracked call: cost %d, usage %+v; want both recorded", o.CostMicros, o.Usage)
	}
	if n := len(up.requests()); n != 1 {
		t.Errorf("upstream calls %d; want 1", n)
	}
}
