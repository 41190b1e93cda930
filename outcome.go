package wicket

import (
	"time"

	"github.com/wicket-gw/wicket/metering"
)

// Outcome describes one finished model call: who made it, where it went,
// how it ended and what it used. It carries identifiers and counts only,
// never content. Config.OnOutcome receives one per forwarded request.
type Outcome struct {
	RequestID string
	KeyID     string
	Owner     string
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
	// Err classifies a failure: "" for success, else a short class such
	// as "upstream_error", "upstream_timeout", "client_disconnect",
	// "stream_aborted".
	Err string
	// Start, FirstByte and End time the call; FirstByte is zero when no
	// body byte reached the client.
	Start, FirstByte, End time.Time
}
