package main

import (
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/anthropic"
	"github.com/wicket-gw/wicket/providers/gemini"
	"github.com/wicket-gw/wicket/providers/openai"
	"github.com/wicket-gw/wicket/redact"
)

// realModels returns the models of the real providers whose keys are set:
// OpenAI's gpt-*, o* and text-embedding-*, Anthropic's claude-* and
// Gemini's gemini-*. Each is reachable through every front door.
func realModels(k upstreamKeys) ([]providers.Model, error) {
	var models []providers.Model
	add := func(p providers.Provider, patterns ...string) {
		for _, name := range patterns {
			models = append(models, providers.Model{Name: name, Deployments: []providers.Deployment{{Provider: p}}})
		}
	}
	if k.openai != "" {
		p, err := openai.New(&openai.Options{APIKey: redact.NewSecret(k.openai)})
		if err != nil {
			return nil, err
		}
		add(p, "gpt-*", "o*", "text-embedding-*")
	}
	if k.anthropic != "" {
		p, err := anthropic.New(&anthropic.Options{APIKey: redact.NewSecret(k.anthropic)})
		if err != nil {
			return nil, err
		}
		add(p, "claude-*")
	}
	if k.gemini != "" {
		p, err := gemini.New(&gemini.Options{APIKey: redact.NewSecret(k.gemini)})
		if err != nil {
			return nil, err
		}
		add(p, "gemini-*")
	}
	return models, nil
}
