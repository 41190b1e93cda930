package abuse

import (
	"strconv"
	"time"
)

// Kind is the kind of a [Signal].
type Kind uint8

// The kinds of signal. See the package documentation for what each means.
const (
	RateJump Kind = iota
	TokenJump
	NetworkSpread
	RefusalBurst

	numKinds = iota
)

var kindNames = [numKinds]string{"rate_jump", "token_jump", "network_spread", "refusal_burst"}

// String returns the kind's name in snake case, such as "rate_jump".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Signal is one sign of abuse of one key. It holds identifiers and numbers
// only.
type Signal struct {
	KeyID string
	Kind  Kind
	At    time.Time
	// Value is what was observed and Baseline what it was compared with:
	//   - RateJump, TokenJump: the current minute's count scaled to a whole
	//     minute from the part of it elapsed (at least a second), and the
	//     key's weighted mean per minute;
	//   - NetworkSpread: the distinct networks counted (a hashed count that
	//     may miss a few when many networks collide, never more than the
	//     truth), and SpreadThreshold;
	//   - RefusalBurst: the refusals within BurstWindow, counted up to
	//     BurstThreshold+1, and BurstThreshold.
	Value, Baseline float64
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k < numKinds }
