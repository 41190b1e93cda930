package anthropic

import (
	"testing"

	"github.com/wicket-gw/wicket/metering"
)

// Anthropic usage, recorded as the Messages API reports it, costed against
// an invoice line worked out by hand from the published prices: no cache
// token is counted twice or as plain input, and 1-hour cache writes are
// billed at their own rate.
func TestCostMatchesInvoice(t *testing.T) {
	prices := metering.DefaultPrices()
	for _, tc := range []struct {
		name, model string
		body        string // a whole Messages response
		events      [][2]string
		want        int64 // micro-dollars
	}{{
		// claude-sonnet-4-5: input $3/M, 5-minute write $3.75/M, 1-hour
		// write $6/M, cache read $0.30/M, output $15/M.
		//   1,200 input            × 3.00 =   3,600
		//   10,000 5-minute writes × 3.75 =  37,500
		//   20,000 1-hour writes   × 6.00 = 120,000
		//   50,000 cache reads     × 0.30 =  15,000
		//   800 output             × 15   =  12,000
		//                                   188,100 µ$
		name: "cache reads and both write lifetimes", model: "claude-sonnet-4-5-20250929",
		body: `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,
			"usage":{"input_tokens":1200,"cache_creation_input_tokens":30000,"cache_read_input_tokens":50000,"cache_creation":{"ephemeral_5m_input_tokens":10000,"ephemeral_1h_input_tokens":20000},"output_tokens":800,"service_tier":"standard"}}`,
		want: 188_100,
	}, {
		// Beyond 200,000 input tokens (150,000 + 40,000 read + 20,000
		// written = 210,000) every part is at the long-context rates:
		// input $6/M, read $0.60/M, 5-minute write $7.50/M, output $22.50/M.
		//   150,000 input         × 6.00  = 900,000
		//   40,000 cache reads    × 0.60  =  24,000
		//   20,000 5-minute writes× 7.50  = 150,000
		//   1,000 output          × 22.50 =  22,500
		//                                 1,096,500 µ$
		name: "long context", model: "claude-sonnet-4-5",
		body: `{"id":"msg_02","type":"message","role":"assistant","content":[],"stop_reason":"max_tokens",
			"usage":{"input_tokens":150000,"cache_creation_input_tokens":20000,"cache_read_input_tokens":40000,"cache_creation":{"ephemeral_5m_input_tokens":20000,"ephemeral_1h_input_tokens":0},"output_tokens":1000}}`,
		want: 1_096_500,
	}, {
		// claude-haiku-4-5, streamed: message_start has the input counts,
		// message_delta the final output count.
		//   300 input             × 1.00 =    300
		//   4,000 1-hour writes   × 2.00 =  8,000
		//   2,000 cache reads     × 0.10 =    200
		//   250 output            × 5.00 =  1,250
		//                                   9,750 µ$
		name: "streamed, 1-hour writes", model: "claude-haiku-4-5",
		events: [][2]string{
			{"message_start", `{"type":"message_start","message":{"id":"msg_03","type":"message","role":"assistant","content":[],"model":"claude-haiku-4-5","usage":{"input_tokens":300,"cache_creation_input_tokens":4000,"cache_read_input_tokens":2000,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":4000},"output_tokens":1}}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":250}}`},
			{"message_stop", `{"type":"message_stop"}`},
		},
		want: 9_750,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var u metering.Usage
			var ok bool
			if tc.body != "" {
				u, ok = usageFromBody([]byte(tc.body), true)
			} else {
				var s streamUsage
				for _, ev := range tc.events {
					ok = s.event([]byte(ev[0]), []byte(ev[1])) || ok
				}
				u = s.counts.usage()
			}
			if !ok {
				t.Fatal("no usage read")
			}
			got, known := prices.Cost(tc.model, u)
			if !known || got != tc.want {
				t.Errorf("cost of %+v: %d µ$ (priced %v); want %d", u, got, known, tc.want)
			}
		})
	}
}
