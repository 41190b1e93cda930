package gemini

import (
	"github.com/wicket-gw/wicket/internal/jsonval"
	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

// streamEnd follows the chunks of a streamGenerateContent answer to tell
// whether it ended as Gemini ends one. A Gemini stream has no terminal
// sentinel: it simply stops after the chunk that carries each candidate's
// finishReason (or a blocked prompt's promptFeedback.blockReason, or an
// error object). So a stream is complete when it carried an error, or
// when some candidate finished (or the prompt was blocked) and every
// candidate it named has finished; a stream cut short while a candidate
// is still being written is not. It also reads the usage: Gemini sends
// running totals, so the last usageMetadata counts.
//
// The zero value is ready to use. Its state is bounded: candidate indexes
// beyond canon.MaxChoices are ignored.
type streamEnd struct {
	seen, done [canon.MaxChoices / 64]uint64 // candidate indexes named, and finished
	final      bool                          // a finishReason or blockReason was seen
	failed     bool                          // an error chunk was seen
}

// complete reports whether the chunks so far make a whole answer.
func (s *streamEnd) complete() bool { return s.failed || (s.final && s.seen == s.done) }

// observe reads the data of one chunk, which must be valid JSON (a
// client could not read one that is not, so it ends nothing), and returns
// the usage it carries, if any. Where a member appears twice the last one
// counts, as encoding/json reads it.
func (s *streamEnd) observe(data []byte) (metering.Usage, bool) {
	var cands, usage, feedback, failure []byte
	err := jsonx.Each(data, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("candidates"):
			cands = m.Value
		case m.KeyIs("usageMetadata"):
			usage = m.Value
		case m.KeyIs("promptFeedback"):
			feedback = m.Value
		case m.KeyIs("error"):
			failure = m.Value
		}
		return true
	})
	if err != nil {
		return metering.Usage{}, false // not an object
	}
	k := 0
	jsonval.EachElem(cands, func(c []byte) {
		s.candidate(c, k)
		k++
	})
	if len(feedback) > 0 && feedback[0] == '{' {
		blocked := false
		_ = jsonx.Each(feedback, func(m jsonx.Member) bool {
			if m.KeyIs("blockReason") {
				r, ok := jsonval.Contents(m.Value)
				blocked = ok && len(r) > 0
			}
			return true
		})
		s.final = s.final || blocked
	}
	if len(failure) > 0 && failure[0] == '{' {
		s.failed = true
	}
	if len(usage) > 0 && usage[0] == '{' {
		return parseUsage(usage)
	}
	return metering.Usage{}, false
}

// candidate notes the candidate c, at position k of its chunk's
// candidates: its index (k if it names none) and whether it finished.
func (s *streamEnd) candidate(c []byte, k int) {
	if len(c) == 0 || c[0] != '{' {
		return
	}
	idx, finished := int64(k), false
	_ = jsonx.Each(c, func(m jsonx.Member) bool {
		switch {
		case m.KeyIs("index"):
			idx = int64(k)
			if n, ok := jsonx.Int(m.Value); ok {
				idx = n
			}
		case m.KeyIs("finishReason"):
			r, ok := jsonval.Contents(m.Value)
			finished = ok && len(r) > 0
		}
		return true
	})
	if idx < 0 || idx >= canon.MaxChoices {
		return
	}
	word, bit := idx/64, uint64(1)<<(idx%64)
	s.seen[word] |= bit
	if finished {
		s.done[word] |= bit
		s.final = true
	}
}
