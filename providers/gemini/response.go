package gemini

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers/canon"
)

func responseCallID(candidate, part int) string {
	return SyntheticIDPrefix + strconv.Itoa(candidate) + "_" + strconv.Itoa(part)
}

// ResponseToCanon converts a GenerateContentResponse (a non-streamed
// answer from an upstream) into the canonical form. Members the form has
// no place for (safetyRatings, citationMetadata, promptFeedback, …) are
// ignored: they describe the answer rather than hold it. A part the form
// cannot hold (inlineData, executableCode, …) is an error, so that no
// content is lost silently. Error texts carry no body text.
//
// responseId becomes ID and modelVersion Model; a candidate whose parts
// include a functionCall finishes as canon.FinishToolCalls (Gemini says
// STOP, kept in RawFinish); usage follows metering.Usage's convention:
// input is promptTokenCount (which includes cachedContentTokenCount) plus
// toolUsePromptTokenCount, output is candidatesTokenCount plus
// thoughtsTokenCount (Gemini counts thoughts apart). A blocked prompt (no
// candidates, promptFeedback.blockReason) is one choice finished as
// canon.FinishContentFilter with the block reason as RawFinish.
func ResponseToCanon(body []byte) (*canon.Response, error) {
	var w wResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, errors.New("gemini: response is not a GenerateContentResponse")
	}
	if w.Error != nil {
		return nil, errors.New("gemini: response is an error")
	}
	r := &canon.Response{ID: w.ResponseID, Model: w.ModelVersion}
	if blocked(&w) {
		r.Choices = []canon.Choice{{Finish: canon.FinishContentFilter, RawFinish: w.PromptFeedback.BlockReason}}
	}
	for k, c := range w.Candidates {
		idx := k
		if c.Index != nil {
			idx = *c.Index
		}
		if idx < 0 || idx >= canon.MaxChoices {
			return nil, errors.New("gemini: candidate index out of range")
		}
		ch := canon.Choice{Index: idx, RawFinish: c.FinishReason}
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				part, err := partToCanon(p, idx, len(ch.Parts))
				if err != nil {
					return nil, err
				}
				ch.Parts = append(ch.Parts, part)
			}
		}
		ch.Finish = finishToCanon(c.FinishReason, hasCall(ch.Parts))
		r.Choices = append(r.Choices, ch)
	}
	if w.UsageMetadata != nil {
		r.Usage, r.UsageKnown = usageToCanon(w.UsageMetadata), true
	}
	return r, nil
}

// blocked reports whether the prompt was blocked: no candidates, and a
// promptFeedback.blockReason, which becomes a content-filter finish of
// choice 0 (a client of another dialect would otherwise see an empty
// answer with no reason).
func blocked(w *wResponse) bool {
	return len(w.Candidates) == 0 && w.PromptFeedback != nil && w.PromptFeedback.BlockReason != ""
}

func hasCall(parts []canon.Part) bool {
	for _, p := range parts {
		if p.Kind == canon.PartToolCall {
			return true
		}
	}
	return false
}

// partToCanon converts a part of an answer; k is its index in the
// candidate's canonical parts, for a synthetic call ID.
func partToCanon(p wPart, candidate, k int) (canon.Part, error) {
	part := canon.Part{Signature: p.ThoughtSignature}
	switch {
	case p.FunctionCall != nil:
		fc := p.FunctionCall
		part.Kind = canon.PartToolCall
		part.ToolCall = canon.ToolCall{ID: fc.ID, Name: fc.Name, Arguments: json.RawMessage("{}")}
		if len(fc.Args) > 0 && string(fc.Args) != "null" {
			if !isObject(fc.Args) {
				return part, errors.New("gemini: function call arguments are not an object")
			}
			part.ToolCall.Arguments = compact(fc.Args)
		}
		if part.ToolCall.ID == "" {
			part.ToolCall.ID = responseCallID(candidate, k)
		}
	case p.InlineData != nil || p.FileData != nil || p.FunctionResponse != nil:
		return part, errors.New("gemini: answer holds a part the canonical form cannot carry")
	case p.Thought:
		part.Kind = canon.PartThinking
		if p.Text != nil {
			part.Text = *p.Text
		}
	case p.Text != nil || p.ThoughtSignature != "":
		part.Kind = canon.PartText
		if p.Text != nil {
			part.Text = *p.Text
		}
	default:
		return part, errors.New("gemini: answer holds a part the canonical form cannot carry")
	}
	return part, nil
}

// finishToCanon maps a finishReason; a candidate that called functions
// finished to have them called.
func finishToCanon(raw string, calls bool) canon.FinishReason {
	switch raw {
	case "":
		return canon.FinishUnset
	case "STOP":
		if calls {
			return canon.FinishToolCalls
		}
		return canon.FinishStop
	case "MAX_TOKENS":
		return canon.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
		"IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return canon.FinishContentFilter
	}
	return canon.FinishOther
}

// finishFromCanon returns Gemini's finishReason for a canonical one: the
// upstream's own spelling when it is Gemini's and agrees, else the
// nearest Gemini reason; "" for unset.
func finishFromCanon(f canon.FinishReason, raw string) string {
	if raw != "" && finishToCanon(raw, f == canon.FinishToolCalls) == f {
		if _, known := geminiFinish[raw]; known {
			return raw
		}
	}
	switch f {
	case canon.FinishStop, canon.FinishToolCalls:
		return "STOP"
	case canon.FinishLength:
		return "MAX_TOKENS"
	case canon.FinishContentFilter:
		return "SAFETY"
	case canon.FinishOther:
		return "OTHER"
	}
	return ""
}

var geminiFinish = map[string]struct{}{
	"STOP": {}, "MAX_TOKENS": {}, "SAFETY": {}, "RECITATION": {}, "LANGUAGE": {}, "OTHER": {}, "BLOCKLIST": {},
	"PROHIBITED_CONTENT": {}, "SPII": {}, "MALFORMED_FUNCTION_CALL": {}, "IMAGE_SAFETY": {},
	"IMAGE_PROHIBITED_CONTENT": {}, "IMAGE_OTHER": {}, "NO_IMAGE": {}, "IMAGE_RECITATION": {},
	"UNEXPECTED_TOOL_CALL": {}, "TOO_MANY_TOOL_CALLS": {}, "MISSING_THOUGHT_SIGNATURE": {}, "CONTINUATION": {},
	"FINISH_REASON_UNSPECIFIED": {},
}

func usageToCanon(u *wUsage) metering.Usage {
	return metering.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

// usageFromCanon writes usage in Gemini's terms; cache writes have no
// Gemini counter and stay inside promptTokenCount.
func usageFromCanon(u metering.Usage) *wUsage {
	return &wUsage{
		PromptTokenCount:        u.InputTokens,
		CachedContentTokenCount: u.CachedInputTokens,
		CandidatesTokenCount:    u.OutputTokens - u.ReasoningTokens,
		ThoughtsTokenCount:      u.ReasoningTokens,
		TotalTokenCount:         u.InputTokens + u.OutputTokens,
	}
}

// ResponseFromCanon converts a canonical answer into a
// GenerateContentResponse. Text and refusal parts become text parts,
// thinking parts thought parts, tool calls functionCall parts (synthetic
// IDs left out; arguments must be a JSON object); redacted thinking has no
// Gemini form and is left out. An image or a tool result in a choice is an
// error: the answer must not lose content silently. Created has no place
// in the Developer API's answer and is not written.
func ResponseFromCanon(r *canon.Response) ([]byte, error) {
	w := wResponse{ModelVersion: r.Model, ResponseID: r.ID, Candidates: []wCandidate{}}
	for _, c := range r.Choices {
		parts, err := partsFromCanon(c.Parts)
		if err != nil {
			return nil, err
		}
		wc := wCandidate{Index: ptr(c.Index), FinishReason: finishFromCanon(c.Finish, c.RawFinish)}
		if len(parts) > 0 {
			wc.Content = &wContent{Role: "model", Parts: parts}
		}
		w.Candidates = append(w.Candidates, wc)
	}
	if r.UsageKnown {
		w.UsageMetadata = usageFromCanon(r.Usage)
	}
	return marshal(&w)
}

func partsFromCanon(parts []canon.Part) ([]wPart, error) {
	var out []wPart
	for _, p := range parts {
		switch p.Kind {
		case canon.PartText, canon.PartRefusal:
			out = append(out, wPart{Text: ptr(p.Text), ThoughtSignature: p.Signature})
		case canon.PartThinking:
			out = append(out, wPart{Text: ptr(p.Text), Thought: true, ThoughtSignature: p.Signature})
		case canon.PartRedactedThinking:
		case canon.PartToolCall:
			fc, err := encodeCall(p.ToolCall)
			if err != nil {
				return nil, err
			}
			out = append(out, wPart{FunctionCall: fc, ThoughtSignature: p.Signature})
		default:
			return nil, errors.New("gemini: an answer cannot hold a " + p.Kind.String() + " part")
		}
	}
	return out, nil
}
