package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/canon"
	"github.com/wicket-gw/wicket/providers/gemini"
)

// generateRequest is what the fake reads of a generateContent request,
// leniently: members it has no use for (safetySettings, temperature, …)
// are ignored. The REST API takes member names in lowerCamelCase or
// snake_case; the fake reads both for the members it uses.
type generateRequest struct {
	Contents          []gemContent `json:"contents"`
	SystemInstruction *gemContent  `json:"systemInstruction"`
	SystemInstr       *gemContent  `json:"system_instruction"`
	Tools             []gemTool    `json:"tools"`
	ToolConfig        *gemToolConf `json:"toolConfig"`
	ToolConf          *gemToolConf `json:"tool_config"`
	GenerationConfig  *gemGenConf  `json:"generationConfig"`
	GenConf           *gemGenConf  `json:"generation_config"`
}

// countRequest is a countTokens body: contents, or a whole
// generateContentRequest.
type countRequest struct {
	Contents    []gemContent     `json:"contents"`
	Generate    *generateRequest `json:"generateContentRequest"`
	GenerateAlt *generateRequest `json:"generate_content_request"`
}

type gemContent struct {
	Role  string    `json:"role"`
	Parts []gemPart `json:"parts"`
}

type gemPart struct {
	Text    *string   `json:"text"`
	Thought bool      `json:"thought"`
	Call    *gemCall  `json:"functionCall"`
	CallAlt *gemCall  `json:"function_call"`
	Resp    *gemReply `json:"functionResponse"`
	RespAlt *gemReply `json:"function_response"`
}

type gemCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type gemReply struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type gemTool struct {
	Decls    []gemDecl `json:"functionDeclarations"`
	DeclsAlt []gemDecl `json:"function_declarations"`
}

type gemDecl struct {
	Name          string          `json:"name"`
	Parameters    json.RawMessage `json:"parameters"`
	JSONSchema    json.RawMessage `json:"parametersJsonSchema"`
	JSONSchemaAlt json.RawMessage `json:"parameters_json_schema"`
}

type gemToolConf struct {
	Calling    *gemCalling `json:"functionCallingConfig"`
	CallingAlt *gemCalling `json:"function_calling_config"`
}

type gemCalling struct {
	Mode       string   `json:"mode"`
	Allowed    []string `json:"allowedFunctionNames"`
	AllowedAlt []string `json:"allowed_function_names"`
}

type gemGenConf struct {
	MaxOutputTokens    *int64 `json:"maxOutputTokens"`
	MaxOutputTokensAlt *int64 `json:"max_output_tokens"`
}

func or[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func orSlice[T any](a, b []T) []T {
	if a != nil {
		return a
	}
	return b
}

func orRaw(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 && string(a) != "null" {
		return a
	}
	return b
}

// gemResult returns a function response's text: the string of a response
// {"output": s} or {"error": s}, as gemini.RequestFromCanon wraps text
// results, and the response's JSON text otherwise.
func gemResult(resp json.RawMessage) string {
	var wrapped map[string]json.RawMessage
	if json.Unmarshal(resp, &wrapped) == nil && len(wrapped) == 1 {
		for _, k := range []string{"output", "error"} {
			var s string
			if v, ok := wrapped[k]; ok && json.Unmarshal(v, &s) == nil {
				return s
			}
		}
	}
	return string(compact(resp))
}

// canon returns the request in canonical form, as far as the model reads
// it: model contents are assistant messages; in other contents, function
// responses become a tool message and the other parts a user message after
// it. Thought parts are left out.
func (g *generateRequest) canon(model string, stream bool) *canon.Request {
	r := &canon.Request{Model: model, Stream: stream}
	if si := or(g.SystemInstruction, g.SystemInstr); si != nil {
		sys := canon.Message{Role: canon.RoleSystem}
		for _, p := range si.Parts {
			if p.Text != nil && !p.Thought {
				sys.Parts = append(sys.Parts, canon.TextPart(*p.Text))
			}
		}
		r.Messages = append(r.Messages, sys)
	}
	for i, c := range g.Contents {
		if c.Role == "model" {
			a := canon.Message{Role: canon.RoleAssistant}
			for j, p := range c.Parts {
				switch call := or(p.Call, p.CallAlt); {
				case call != nil:
					id := call.ID
					if id == "" {
						id = gemini.SyntheticIDPrefix + "c" + strconv.Itoa(i) + "_p" + strconv.Itoa(j)
					}
					args := compact(call.Args)
					if len(call.Args) == 0 {
						args = []byte("{}")
					}
					a.Parts = append(a.Parts, canon.ToolCallPart(id, call.Name, args))
				case p.Text != nil && !p.Thought:
					a.Parts = append(a.Parts, canon.TextPart(*p.Text))
				}
			}
			r.Messages = append(r.Messages, a)
			continue
		}
		var results, rest []canon.Part
		for _, p := range c.Parts {
			switch resp := or(p.Resp, p.RespAlt); {
			case resp != nil:
				res := canon.ToolResultPart(resp.ID, canon.TextPart(gemResult(resp.Response)))
				res.ToolResult.Name = resp.Name
				results = append(results, res)
			case p.Text != nil && !p.Thought:
				rest = append(rest, canon.TextPart(*p.Text))
			}
		}
		if len(results) > 0 {
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleTool, Parts: results})
		}
		if len(rest) > 0 || len(results) == 0 {
			r.Messages = append(r.Messages, canon.Message{Role: canon.RoleUser, Parts: rest})
		}
	}
	for _, t := range g.Tools {
		for _, d := range orSlice(t.Decls, t.DeclsAlt) {
			r.Tools = append(r.Tools, canon.Tool{Name: d.Name, Parameters: orRaw(orRaw(d.JSONSchema, d.JSONSchemaAlt), d.Parameters)})
		}
	}
	if tc := or(g.ToolConfig, g.ToolConf); tc != nil {
		if fc := or(tc.Calling, tc.CallingAlt); fc != nil {
			switch allowed := orSlice(fc.Allowed, fc.AllowedAlt); {
			case fc.Mode == "NONE":
				r.ToolChoice.Mode = canon.ToolChoiceNone
			case fc.Mode == "ANY" && len(allowed) > 0:
				r.ToolChoice = canon.ToolChoice{Mode: canon.ToolChoiceTool, Name: allowed[0]}
			}
		}
	}
	if gc := or(g.GenerationConfig, g.GenConf); gc != nil {
		r.MaxOutputTokens = or(gc.MaxOutputTokens, gc.MaxOutputTokensAlt)
	}
	return r
}

// gemini serves POST .../models/{model}:{method}.
func (h *handler) gemini(w http.ResponseWriter, r *http.Request) {
	const d = providers.DialectGemini
	model, method, _ := geminiTarget(r.URL.Path)
	var stream bool
	switch method {
	case "generateContent", "countTokens":
	case "streamGenerateContent":
		stream = true
	default:
		fail(w, d, http.StatusNotFound, "", "", "Method not found.")
		return
	}
	body, ok := h.readBody(w, r)
	if !ok {
		tooLarge(w, d)
		return
	}
	invalid := func() {
		fail(w, d, http.StatusBadRequest, "", "", "Invalid JSON payload received. The body must be a JSON object.")
	}
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		invalid()
		return
	}
	var req generateRequest
	if method == "countTokens" {
		var cr countRequest
		if json.Unmarshal(body, &cr) != nil {
			invalid()
			return
		}
		req.Contents = cr.Contents
		if g := or(cr.Generate, cr.GenerateAlt); g != nil {
			req = *g
		}
	} else if json.Unmarshal(body, &req) != nil {
		invalid()
		return
	}
	if len(req.Contents) == 0 {
		fail(w, d, http.StatusBadRequest, "", "", "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	if failure(w, r, d, model) {
		return
	}
	rep, bad := h.answer(req.canon(model, stream))
	if method == "countTokens" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"totalTokens":` + strconv.FormatInt(rep.prompt, 10) + "}\n"))
		return
	}
	if bad != nil {
		fail(w, d, http.StatusBadRequest, "", "", "toolConfig.functionCallingConfig.allowedFunctionNames: "+bad.msg)
		return
	}
	id := idFrom("fake", rep.seed)
	callID := gemini.SyntheticIDPrefix + "0_0" // left out of the answer, as Gemini sends calls without ids
	switch {
	case !stream:
		b, err := gemini.ResponseFromCanon(rep.response(id, model, callID))
		if err != nil {
			fail(w, d, http.StatusInternalServerError, "", "", "The fake could not write its answer.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
	case r.URL.Query().Get("alt") == "sse":
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		enc := gemini.NewStreamEncoder(newFlusher(w))
		if h.play(r.Context(), rep.events(id, model, callID), enc.Encode) {
			_ = enc.Close()
		}
	default:
		// Without alt=sse, the stream is one JSON array of the same
		// chunks, written as they come.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		arr := &jsonArray{w: newFlusher(w)}
		enc := gemini.NewStreamEncoder(arr)
		if h.play(r.Context(), rep.events(id, model, callID), enc.Encode) && enc.Close() == nil {
			_ = arr.close()
		}
	}
}

// errNotEvent is the error for a write to a jsonArray that is not one
// whole SSE event.
var errNotEvent = errors.New("fake: not one SSE event")

// jsonArray turns the SSE events a gemini.StreamEncoder writes, one a
// Write ("data: <json>\r\n\r\n"), into the elements of a JSON array, as
// streamGenerateContent answers without alt=sse.
type jsonArray struct {
	w     io.Writer
	begun bool
}

func (a *jsonArray) Write(p []byte) (int, error) {
	data, ok1 := bytes.CutPrefix(p, []byte("data: "))
	data, ok2 := bytes.CutSuffix(data, []byte("\r\n\r\n"))
	if !ok1 || !ok2 {
		return 0, errNotEvent
	}
	sep := ",\r\n"
	if !a.begun {
		sep, a.begun = "[", true
	}
	if _, err := a.w.Write(append([]byte(sep), data...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (a *jsonArray) close() error {
	end := "]"
	if !a.begun {
		end = "[]"
	}
	_, err := a.w.Write([]byte(end))
	return err
}

// geminiModels answers GET .../models as Gemini lists models.
func (h *handler) geminiModels(w http.ResponseWriter) {
	type model struct {
		Name                       string   `json:"name"`
		Version                    string   `json:"version"`
		DisplayName                string   `json:"displayName"`
		SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
	}
	var out struct {
		Models []model `json:"models"`
	}
	for _, m := range Models {
		out.Models = append(out.Models, model{Name: "models/" + m, Version: "fake", DisplayName: m,
			SupportedGenerationMethods: []string{"generateContent", "streamGenerateContent", "countTokens"}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
