package gemini

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wicket-gw/wicket/providers/canon"
)

// FuzzRequestRoundTrip checks that a request RequestToCanon accepts is
// written back, that its errors never echo the body, and that a second
// round trip changes nothing.
func FuzzRequestRoundTrip(f *testing.F) {
	for _, tc := range requestFixtures {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, perr := RequestToCanon("m", false, body)
		if perr != nil {
			if perr.Status != 400 || perr.Message == "" {
				t.Fatalf("error %+v; want a 400 with a message", perr)
			}
			return
		}
		out, err := RequestFromCanon(r)
		if err != nil {
			t.Fatalf("RequestFromCanon of an accepted request: %v", err)
		}
		r2, perr := RequestToCanon("m", false, out)
		if perr != nil {
			t.Fatalf("RequestToCanon of our own output: %v\n%s", perr, out)
		}
		out2, err := RequestFromCanon(r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("second round trip differs:\n%s\n%s", out, out2)
		}
	})
}

// FuzzResponseRoundTrip checks that an answer ResponseToCanon accepts is
// written back and stable after one round trip.
func FuzzResponseRoundTrip(f *testing.F) {
	for _, tc := range responseFixtures {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ResponseToCanon(body)
		if err != nil {
			return
		}
		out, err := ResponseFromCanon(r)
		if err != nil {
			t.Fatalf("ResponseFromCanon of an accepted answer: %v", err)
		}
		r2, err := ResponseToCanon(out)
		if err != nil {
			t.Fatalf("ResponseToCanon of our own output: %v\n%s", err, out)
		}
		out2, err := ResponseFromCanon(r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("second round trip differs:\n%s\n%s", out, out2)
		}
	})
}

// FuzzStreamRoundTrip checks that a stream the decoder accepts yields a
// canonical stream (the Accumulator takes it), that the encoder writes
// it, and that decoding the result gives the same answer.
func FuzzStreamRoundTrip(f *testing.F) {
	for _, tc := range streamFixtures {
		f.Add([]byte(tc.stream))
	}
	f.Add([]byte(sseOf(`{"candidates":[{"content":{"parts":[{"text":"a","thoughtSignature":"x"},{"text":"b","thoughtSignature":"y"}]}}]}`)))
	f.Fuzz(func(t *testing.T, stream []byte) {
		evs, want, err := decodeStream(t, stream)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.Kind == canon.EventError {
				return
			}
		}
		out := encodeEvents(t, evs)
		_, got, err := decodeStream(t, out)
		if err != nil {
			t.Fatalf("decode of our own output: %v\n%s", err, out)
		}
		wb, err1 := ResponseFromCanon(want)
		gb, err2 := ResponseFromCanon(got)
		if err1 != nil || err2 != nil {
			t.Fatalf("ResponseFromCanon: %v, %v", err1, err2)
		}
		if d := cmp.Diff(semantic(t, wb), semantic(t, gb)); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}

// benchRequest is a request of about 2 KB: a system instruction, a few
// turns with a function call and its response, a tool and options.
func benchRequest() []byte {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	return []byte(`{"systemInstruction":{"parts":[{"text":"You are a helpful assistant. ` + long[:300] + `"}]},
	"contents":[{"role":"user","parts":[{"text":"` + long + `"}]},
	{"role":"model","parts":[{"functionCall":{"name":"weather","args":{"city":"Oslo","unit":"celsius"}}}]},
	{"role":"user","parts":[{"functionResponse":{"name":"weather","response":{"temp":3,"sky":"overcast"}}}]},
	{"role":"model","parts":[{"text":"It is 3 degrees and overcast in Oslo."}]},
	{"role":"user","parts":[{"text":"And tomorrow?"}]}],
	"tools":[{"functionDeclarations":[{"name":"weather","description":"Current weather for a city",
	"parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}]}],
	"generationConfig":{"temperature":0.7,"maxOutputTokens":512,"stopSequences":["END"]}}`)
}

func BenchmarkRequestRoundTrip(b *testing.B) {
	body := benchRequest()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, perr := RequestToCanon("gemini-2.5-flash", false, body)
		if perr != nil {
			b.Fatal(perr)
		}
		if _, err := RequestFromCanon(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamTextChunk decodes one streamed text chunk and encodes its
// delta, as a translated stream does for every chunk.
func BenchmarkStreamTextChunk(b *testing.B) {
	chunk := []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello, here is a chunk of streamed text."}]},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r"}`)
	var dec StreamDecoder
	enc := NewStreamEncoder(discard{})
	emit := enc.Encode
	if err := dec.Decode(chunk, emit); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(chunk, emit); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
