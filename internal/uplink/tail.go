package uplink

// TailSize is how much of a non-streamed body a Tail keeps at least: every
// dialect writes usage near the end of its JSON answer, within this.
const TailSize = 16 << 10

// Tail keeps a body whole while it is at most 2×TailSize bytes, and past
// that only its last TailSize bytes (at least). The zero value is an empty
// body.
type Tail struct {
	buf []byte
	cut bool // the start of the body was dropped
}

// Write appends p to the body.
func (t *Tail) Write(p []byte) {
	if len(p) > 2*TailSize {
		t.cut = true
		t.buf = append(t.buf[:0], p[len(p)-TailSize:]...)
		return
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*TailSize {
		t.cut = true
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-TailSize:]...)
	}
}

// Bytes returns what is kept: the whole body, or its end.
func (t *Tail) Bytes() []byte { return t.buf }

// Whole reports whether Bytes holds the entire body.
func (t *Tail) Whole() bool { return !t.cut }
