package gemini

import (
	"encoding/json"
	"errors"
	"math"
	"strings"

	"github.com/wicket-gw/wicket/internal/jsonx"
	"github.com/wicket-gw/wicket/providers/canon"
)

// RequestFromCanon converts a canonical request into a generateContent
// body. The body does not name the model: the caller builds the URL
// (models/{r.Model}:generateContent, or :streamGenerateContent?alt=sse
// when r.Stream) from r.Model.
//
// Leading system and developer messages become systemInstruction; a later
// one is refused (canon.FeatureRole). Tool results become functionResponse
// parts of user-role contents, adjacent tool messages merged into one
// content as Gemini expects for parallel calls; a result's text that is a
// JSON object is the response, other text is wrapped as {"output": text}
// ({"error": text} when IsError), as Google documents; its name comes from
// ToolResult.Name or else from the call it answers (Request.ToolName).
// Synthetic IDs (SyntheticIDPrefix) are left out. Images by URL become
// fileData and need a media type. Refusals become text; redacted thinking
// has no Gemini form and is left out (only Anthropic can read it).
//
// Refused with *canon.UnsupportedError: user, parallel_tool_calls false,
// strict tools and schemas, tool choice by name is written as ANY with one
// allowed name; image detail; a response format description; reasoning
// effort none or xhigh, or effort together with a budget.
func RequestFromCanon(r *canon.Request) ([]byte, error) {
	if r.User != "" {
		return nil, canon.Unsupported(canon.FeatureUser)
	}
	if r.ParallelToolCalls != nil && !*r.ParallelToolCalls {
		return nil, canon.Unsupported(canon.FeatureParallelToolCalls)
	}
	var w wRequest
	system, rest := r.SplitSystem()
	if len(system) > 0 {
		sys := &wContent{Parts: []wPart{}}
		for i, m := range system {
			for j, p := range m.Parts {
				if p.Kind != canon.PartText {
					return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
				}
				sys.Parts = append(sys.Parts, wPart{Text: ptr(p.Text)})
			}
		}
		w.SystemInstruction = sys
	}
	w.Contents = []wContent{}
	for k, m := range rest {
		i := len(system) + k
		c, err := encodeMessage(r, i, &m)
		if err != nil {
			return nil, err
		}
		if m.Role == canon.RoleTool && k > 0 && rest[k-1].Role == canon.RoleTool {
			last := &w.Contents[len(w.Contents)-1]
			last.Parts = append(last.Parts, c.Parts...)
			continue
		}
		w.Contents = append(w.Contents, c)
	}
	for _, t := range r.Tools {
		if t.Strict != nil && *t.Strict {
			return nil, canon.Unsupported(canon.FeatureToolStrict)
		}
		if len(w.Tools) == 0 {
			w.Tools = []wTool{{}}
		}
		d := wFuncDecl{Name: t.Name, Description: t.Description}
		if t.Parameters != nil {
			if d.ParametersJSONSchema = compact(t.Parameters); d.ParametersJSONSchema == nil {
				return nil, errors.New("gemini: tool parameters are not valid JSON")
			}
		}
		w.Tools[0].FunctionDeclarations = append(w.Tools[0].FunctionDeclarations, d)
	}
	switch r.ToolChoice.Mode {
	case canon.ToolChoiceUnset:
	case canon.ToolChoiceAuto:
		w.ToolConfig = &wToolConfig{wFuncCallingConfig{Mode: "AUTO"}}
	case canon.ToolChoiceNone:
		w.ToolConfig = &wToolConfig{wFuncCallingConfig{Mode: "NONE"}}
	case canon.ToolChoiceRequired:
		w.ToolConfig = &wToolConfig{wFuncCallingConfig{Mode: "ANY"}}
	case canon.ToolChoiceTool:
		w.ToolConfig = &wToolConfig{wFuncCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{r.ToolChoice.Name}}}
	default:
		return nil, canon.Unsupported(canon.FeatureToolChoice)
	}
	g := &wGenerationConfig{
		Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK, CandidateCount: r.Choices,
		MaxOutputTokens: r.MaxOutputTokens, StopSequences: r.Stop, Seed: r.Seed,
		PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty,
	}
	for _, f := range []*float64{g.Temperature, g.TopP, g.PresencePenalty, g.FrequencyPenalty} {
		if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
			return nil, errors.New("gemini: a number is not finite")
		}
	}
	if f := r.ResponseFormat; f != nil {
		if f.Strict != nil && *f.Strict || f.Description != "" {
			return nil, canon.Unsupported(canon.FeatureResponseFormat)
		}
		switch f.Type {
		case canon.FormatText:
			g.ResponseMimeType = "text/plain"
		case canon.FormatJSON:
			g.ResponseMimeType = "application/json"
		case canon.FormatJSONSchema:
			g.ResponseMimeType = "application/json"
			if f.Schema != nil {
				if g.ResponseJSONSchema = compact(f.Schema); g.ResponseJSONSchema == nil {
					return nil, errors.New("gemini: response schema is not valid JSON")
				}
			}
		default:
			return nil, canon.Unsupported(canon.FeatureResponseFormat)
		}
	}
	if re := r.Reasoning; re != nil {
		t := &wThinking{ThinkingBudget: re.BudgetTokens}
		switch re.Effort {
		case "":
		case "minimal", "low", "medium", "high":
			if re.BudgetTokens != nil {
				return nil, canon.Unsupported(canon.FeatureReasoningEffort)
			}
			t.ThinkingLevel = strings.ToUpper(re.Effort)
		default:
			return nil, canon.Unsupported(canon.FeatureReasoningEffort)
		}
		if t.ThinkingBudget != nil || t.ThinkingLevel != "" {
			g.ThinkingConfig = t
		}
	}
	if b, _ := marshal(g); string(b) != "{}" {
		w.GenerationConfig = g
	}
	return marshal(&w)
}

func ptr[T any](v T) *T { return &v }

// encodeMessage converts the message at index i.
func encodeMessage(r *canon.Request, i int, m *canon.Message) (wContent, error) {
	c := wContent{Parts: []wPart{}}
	switch m.Role {
	case canon.RoleSystem, canon.RoleDeveloper:
		return c, canon.UnsupportedAt(canon.FeatureRole, i, -1)
	case canon.RoleUser:
		c.Role = "user"
		for j, p := range m.Parts {
			switch p.Kind {
			case canon.PartText:
				c.Parts = append(c.Parts, wPart{Text: ptr(p.Text)})
			case canon.PartImage:
				wp, err := encodeImage(&p.Image, i, j)
				if err != nil {
					return c, err
				}
				c.Parts = append(c.Parts, wp)
			default:
				return c, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
		}
	case canon.RoleAssistant:
		c.Role = "model"
		for j, p := range m.Parts {
			switch p.Kind {
			case canon.PartText, canon.PartRefusal:
				c.Parts = append(c.Parts, wPart{Text: ptr(p.Text), ThoughtSignature: p.Signature})
			case canon.PartThinking:
				c.Parts = append(c.Parts, wPart{Text: ptr(p.Text), Thought: true, ThoughtSignature: p.Signature})
			case canon.PartRedactedThinking:
			case canon.PartToolCall:
				fc, err := encodeCall(p.ToolCall)
				if err != nil {
					return c, err
				}
				c.Parts = append(c.Parts, wPart{FunctionCall: fc, ThoughtSignature: p.Signature})
			default:
				return c, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
		}
		if len(c.Parts) == 0 {
			// Only redacted thinking: Gemini refuses a content without parts.
			c.Parts = append(c.Parts, wPart{Text: ptr("")})
		}
	case canon.RoleTool:
		c.Role = "user"
		for j, p := range m.Parts {
			if p.Kind != canon.PartToolResult {
				return c, canon.UnsupportedAt(canon.FeaturePart, i, j)
			}
			fr, err := encodeResult(r, &p.ToolResult, i, j)
			if err != nil {
				return c, err
			}
			c.Parts = append(c.Parts, wPart{FunctionResponse: fr})
		}
	default:
		return c, errors.New("gemini: message has an unknown role")
	}
	if len(c.Parts) == 0 {
		return c, errors.New("gemini: message without parts")
	}
	return c, nil
}

func encodeImage(img *canon.Image, i, j int) (wPart, error) {
	if img.Detail != "" {
		return wPart{}, canon.UnsupportedAt(canon.FeatureImageDetail, i, j)
	}
	if img.URL != "" {
		if img.MediaType == "" {
			// fileData requires a MIME type, and guessing one from a URL
			// would misname some images.
			return wPart{}, canon.UnsupportedAt(canon.FeaturePart, i, j)
		}
		return wPart{FileData: &wFileData{MimeType: img.MediaType, FileURI: img.URL}}, nil
	}
	if img.MediaType == "" {
		return wPart{}, errors.New("gemini: inline image without a media type")
	}
	return wPart{InlineData: &wBlob{MimeType: img.MediaType, Data: img.Data}}, nil
}

// encodeCall converts a tool call; Gemini carries arguments as an object.
func encodeCall(tc canon.ToolCall) (*wFuncCall, error) {
	fc := &wFuncCall{Name: tc.Name, Args: json.RawMessage("{}")}
	if !synthetic(tc.ID) {
		fc.ID = tc.ID
	}
	if len(tc.Arguments) > 0 {
		if !jsonx.Valid(tc.Arguments) || !isObject(tc.Arguments) {
			return nil, errors.New("gemini: tool call arguments are not a JSON object")
		}
		fc.Args = compact(tc.Arguments)
	}
	return fc, nil
}

func encodeResult(r *canon.Request, res *canon.ToolResult, i, j int) (*wFuncResp, error) {
	fr := &wFuncResp{Name: res.Name}
	if !synthetic(res.CallID) {
		fr.ID = res.CallID
	}
	if fr.Name == "" {
		fr.Name = r.ToolName(res.CallID)
	}
	if fr.Name == "" {
		return nil, errors.New("gemini: a tool result answers no known call, and Gemini needs the function's name")
	}
	var text strings.Builder
	for _, c := range res.Content {
		if c.Kind != canon.PartText {
			return nil, canon.UnsupportedAt(canon.FeaturePart, i, j)
		}
		text.WriteString(c.Text)
	}
	s := text.String()
	if !res.IsError && jsonx.Valid([]byte(s)) && isObject([]byte(s)) {
		fr.Response = compact([]byte(s))
		return fr, nil
	}
	key := "output"
	if res.IsError {
		key = "error"
	}
	b, err := marshal(map[string]string{key: s})
	if err != nil {
		return nil, err
	}
	fr.Response = b
	return fr, nil
}
