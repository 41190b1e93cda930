package wicket

import (
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// Outcome describes one finished model call: who made it, where it went,
// how it ended and what it used. It carries identifiers and counts only,
// never content. Config.OnOutcome receives one per authenticated request,
// and the metering.Event recorded for it is made from it.
type Outcome struct {
	// RequestID is the gateway's ID for the request, unique per request.
	RequestID string
	// ClientRequestID is the well-formed request ID the client sent, if any
	// (see metering.Event.ClientRequestID); it is not unique.
	ClientRequestID string
	KeyID           string
	Owner           string
	// Model is the public model name the client asked for.
	Model string
	// Provider, Deployment and UpstreamModel describe the deployment that
	// answered (the last one tried, if none did).
	Provider      string
	Deployment    string
	UpstreamModel string
	Endpoint      string
	Stream        bool
	// Status is the HTTP status the client received.
	Status int
	// Attempts counts upstream attempts, fallbacks and retries included.
	Attempts int
	// Usage is the upstream's token count, valid when UsageKnown.
	Usage      metering.Usage
	UsageKnown bool
	// UsageEstimated reports that the upstream reported no usage (the
	// client left first, say) and Usage is the gateway's estimate of what
	// was delivered.
	UsageEstimated bool
	// CostMicros is what the call cost, in micro-dollars, by Config.Prices.
	CostMicros int64
	// PriceUnknown reports that the served model has no price.
	PriceUnknown bool
	// Err classifies a failure; empty for success.
	Err metering.ErrorClass
	// Start, FirstByte and End time the call; FirstByte is zero when no
	// body byte reached the client.
	Start, FirstByte, End time.Time
}
