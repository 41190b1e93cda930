package sse

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// benchOpenAIStream returns a chat.completion.chunk stream of n content
// chunks, then a finish chunk, a usage chunk and [DONE], as OpenAI sends it
// with stream_options.include_usage. Each chunk is about 300 bytes.
func benchOpenAIStream(n int) (stream []byte, events int) {
	var b bytes.Buffer
	const head = `data: {"id":"chatcmpl-C3k9XbT2qWmR7vLpN4sYdE8fHz","object":"chat.completion.chunk","created":1748131200,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_5d1c2a7e9b","choices":[`
	for i := range n {
		fmt.Fprintf(&b, "%s{\"index\":0,\"delta\":{\"content\":\" token%d\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", head, i)
	}
	fmt.Fprintf(&b, "%s{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n", head)
	fmt.Fprintf(&b, "%s],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", head, n, n+17)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes(), n + 3
}

func BenchmarkReaderNext(b *testing.B) {
	openai, openaiEvents := benchOpenAIStream(1000)
	anthropic, err := os.ReadFile("testdata/anthropic_messages.sse")
	if err != nil {
		b.Fatal(err)
	}
	anthropic = bytes.Repeat(anthropic, 100)
	anthropicEvents := 1000
	for _, bc := range []struct {
		name   string
		stream []byte
		events int
		dones  int
		sizes  []byte // read sizes, each plus one; nil: reads as large as the buffer
	}{
		{name: "openai", stream: openai, events: openaiEvents, dones: 1},
		{name: "openai/256B-reads", stream: openai, events: openaiEvents, dones: 1, sizes: []byte{255}},
		{name: "anthropic", stream: anthropic, events: anthropicEvents},
		// One large event of short CR-terminated lines: must stay linear.
		{name: "cr-lines-1MiB", stream: []byte(strings.Repeat("data: x\r", 100<<10) + "\r"), events: 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cr := &chunkReader{}
			r := NewReader(cr, nil)
			b.SetBytes(int64(len(bc.stream)))
			b.ReportAllocs()
			for b.Loop() {
				cr.in, cr.sizes, cr.i = bc.stream, bc.sizes, 0
				r.Reset(cr)
				n, done := 0, 0
				for {
					ev, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if IsDone(ev.Data) { // peek at the data, as the gateway does
						done++
					}
					n++
				}
				if n != bc.events || done != bc.dones {
					b.Fatalf("got %d events, %d [DONE]; want %d, %d", n, done, bc.events, bc.dones)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.events), "ns/event")
		})
	}
}

func BenchmarkWriterWriteRaw(b *testing.B) {
	stream, _ := benchOpenAIStream(1)
	raw := stream[:bytes.Index(stream, []byte("\n\n"))+2]
	w := NewWriter(&discardResponseWriter{h: http.Header{}})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteRaw(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterWriteEvent(b *testing.B) {
	stream, _ := benchOpenAIStream(1)
	data := stream[len("data: "):bytes.Index(stream, []byte("\n\n"))]
	ev := Event{Type: []byte("completion"), Data: data}
	w := NewWriter(&discardResponseWriter{h: http.Header{}})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}
