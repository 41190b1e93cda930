package gemini

import "encoding/json"

// Wire types for writing Gemini JSON (and reading answers, which come from
// upstreams and are read leniently). Member names follow the REST API and
// the google.golang.org/genai SDK (camelCase).

type wContent struct {
	Role  string  `json:"role,omitempty"`
	Parts []wPart `json:"parts"`
}

type wPart struct {
	Text             *string    `json:"text,omitempty"`
	Thought          bool       `json:"thought,omitempty"`
	InlineData       *wBlob     `json:"inlineData,omitempty"`
	FileData         *wFileData `json:"fileData,omitempty"`
	FunctionCall     *wFuncCall `json:"functionCall,omitempty"`
	FunctionResponse *wFuncResp `json:"functionResponse,omitempty"`
	ThoughtSignature string     `json:"thoughtSignature,omitempty"`
}

type wBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type wFileData struct {
	MimeType string `json:"mimeType"`
	FileURI  string `json:"fileUri"`
}

type wFuncCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type wFuncResp struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type wRequest struct {
	Contents          []wContent         `json:"contents"`
	SystemInstruction *wContent          `json:"systemInstruction,omitempty"`
	Tools             []wTool            `json:"tools,omitempty"`
	ToolConfig        *wToolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *wGenerationConfig `json:"generationConfig,omitempty"`
}

type wTool struct {
	FunctionDeclarations []wFuncDecl `json:"functionDeclarations"`
}

type wFuncDecl struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type wToolConfig struct {
	FunctionCallingConfig wFuncCallingConfig `json:"functionCallingConfig"`
}

type wFuncCallingConfig struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type wGenerationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int64          `json:"topK,omitempty"`
	CandidateCount     *int64          `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int64          `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *wThinking      `json:"thinkingConfig,omitempty"`
}

type wThinking struct {
	ThinkingBudget *int64 `json:"thinkingBudget,omitempty"`
	ThinkingLevel  string `json:"thinkingLevel,omitempty"`
}

type wResponse struct {
	Candidates    []wCandidate `json:"candidates,omitempty"`
	UsageMetadata *wUsage      `json:"usageMetadata,omitempty"`
	ModelVersion  string       `json:"modelVersion,omitempty"`
	ResponseID    string       `json:"responseId,omitempty"`
	Error         *wError      `json:"error,omitempty"`
	// PromptFeedback is read only: a blocked prompt gets no candidates.
	PromptFeedback *wFeedback `json:"promptFeedback,omitempty"`
}

type wFeedback struct {
	BlockReason string `json:"blockReason,omitempty"`
}

type wCandidate struct {
	Content      *wContent `json:"content,omitempty"`
	FinishReason string    `json:"finishReason,omitempty"`
	Index        *int      `json:"index,omitempty"`
}

type wUsage struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount,omitempty"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount,omitempty"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount,omitempty"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
}

type wError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status,omitempty"`
}
