// Package abuse watches each API key's traffic for signs that the key has
// leaked or is being misused, and reports them as [Signal] values.
//
// A gateway calls a [Detector] on each request ([Detector.Request]), when a
// request finishes ([Detector.Tokens]) and when a request is refused by the
// key's scope or IP allowlist ([Detector.Refused]). The Detector keeps a small
// fixed-size state per key ID and reports four kinds of signal:
//
//   - [RateJump]: the key's requests in the current minute exceed
//     max(mean×JumpFactor, mean+JumpSigmas×deviation, MinRate), where mean
//     and deviation are exponentially weighted over the key's own past
//     minutes (idle minutes count as zero);
//   - [TokenJump]: the same for the tokens the key used;
//   - [NetworkSpread]: the key was used from more than SpreadThreshold
//     client networks (IPv4 /24, IPv6 /48) in the current and previous
//     SpreadWindow;
//   - [RefusalBurst]: more than BurstThreshold refusals within BurstWindow.
//
// Signals go to [Options].OnSignal, at most once per key and kind per
// Cooldown, and are counted in [Stats]. They carry identifiers and numbers
// only, never a client address.
//
// The Detector starts no goroutine and no timer: minutes roll over lazily on
// the next call for a key. Memory is bounded by an LRU of at most MaxKeys
// keys, about 330 bytes each (LRU included). A Detector is safe for
// concurrent use.
package abuse
