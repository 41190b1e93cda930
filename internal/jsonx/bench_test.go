package jsonx

import (
	"strings"
	"testing"
)

// benchProse is English text as a JSON string body, with the escapes
// prompts have: an escaped quote or newline every 20 or so bytes.
const benchProse = `The quick brown fox jumps over the lazy dog; \"quoted\" text\n and more. `

// benchString returns a JSON string of about size bytes made of unit.
func benchString(unit string, size int) []byte {
	s := strings.Repeat(unit, size/len(unit)+1)[:size]
	s = strings.TrimRight(s, `\`) // do not escape the closing quote
	return []byte(`"` + s + `"`)
}

// benchChat returns a chat completions body of about size bytes: a few
// routing members, then messages of prose, the last with content parts.
func benchChat(size int) []byte {
	prose := strings.Repeat(benchProse, 8)
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o-mini","stream":true,"max_tokens":512,"messages":[{"role":"system","content":"You are terse."}`)
	for i := 0; b.Len() < size-1000; i++ {
		role := []string{"user", "assistant"}[i%2]
		b.WriteString(`,{"role":"` + role + `","content":"` + prose + `"}`)
	}
	b.WriteString(`,{"role":"user","content":[{"type":"text","text":"` + prose + `"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}}]}],"temperature":0.2}`)
	return []byte(b.String())
}

func BenchmarkSkipString(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"prose-16KB", benchString(benchProse, 16<<10)},
		{"ascii-16KB", benchString("The quick brown fox jumps over the lazy dog. ", 16<<10)},
		{"utf8-16KB", benchString("Съешь же ещё этих мягких французских булок. 日本語の文章。", 16<<10)},
		{"short", []byte(`"content"`)},
	} {
		if end, ok := skipString(c.data, 0); !ok || end != len(c.data) {
			b.Fatalf("%s: skipString = %d, %v; want %d, true", c.name, end, ok, len(c.data))
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				skipString(c.data, 0)
			}
		})
	}
}

func BenchmarkEach(b *testing.B) {
	body := benchChat(20_000)
	b.Run("chat-20KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := Each(body, func(Member) bool { return true }); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As openai.Decode walks it: the body, then each message.
	b.Run("chat-20KB-messages", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			n := 0
			err := Each(body, func(m Member) bool {
				if !m.KeyIs("messages") {
					return true
				}
				for i := 1; ; i++ {
					start, end, ok := ValueAt(m.Value, i)
					if !ok {
						break
					}
					_ = Each(m.Value[start:end], func(Member) bool { n++; return true })
					if i = skipSpace(m.Value, end); i >= len(m.Value) || m.Value[i] != ',' {
						break
					}
				}
				return true
			})
			if err != nil || n == 0 {
				b.Fatalf("Each = %v after %d members", err, n)
			}
		}
	})
}
