package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/wicket-gw/wicket/internal/sse"
)

func ExampleNewReader() {
	stream := "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
		": keep-alive\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n" +
		"data: [DONE]\n\n"
	r := sse.NewReader(strings.NewReader(stream), nil)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if sse.IsDone(ev.Data) {
			fmt.Println("done")
			break
		}
		fmt.Printf("%s\n", ev.Data)
	}
	// Output:
	// {"choices":[{"delta":{"content":"Hel"}}]}
	// {"choices":[{"delta":{"content":"lo"}}]}
	// done
}

func ExampleReaderOptions() {
	stream := "event: message_start\ndata: {}\n\n" +
		": keep-alive\n\n" +
		"retry: 3000\n\n" +
		"event: message_stop\ndata: {}\n\n"
	r := sse.NewReader(strings.NewReader(stream), &sse.ReaderOptions{All: true})
	for {
		ev, err := r.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("type=%q nodata=%v retry=%v raw=%q\n", ev.Type, ev.NoData, ev.Retry, ev.Raw)
	}
	// Output:
	// type="message_start" nodata=false retry=0s raw="event: message_start\ndata: {}\n\n"
	// type="" nodata=true retry=0s raw=": keep-alive\n\n"
	// type="" nodata=true retry=3s raw="retry: 3000\n\n"
	// type="message_stop" nodata=false retry=0s raw="event: message_stop\ndata: {}\n\n"
	// EOF
}

func ExampleNewWriter() {
	rec := httptest.NewRecorder() // in a handler: the http.ResponseWriter
	sse.SetHeaders(rec.Header())
	w := sse.NewWriter(rec)
	_ = w.WriteEvent(sse.Event{Type: []byte("content_block_delta"), Data: []byte(`{"text":"Hi"}`)})
	_ = w.WriteComment("ping")
	_ = w.WriteEvent(sse.Event{Data: []byte("line one\nline two")})
	if err := w.WriteEvent(sse.Event{Type: []byte("x\ndata: injected")}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(rec.Header().Get("Content-Type"), rec.Flushed)
	fmt.Print(rec.Body.String())
	// Output:
	// sse: event type or id contains CR, LF or NUL
	// text/event-stream true
	// event: content_block_delta
	// data: {"text":"Hi"}
	//
	// : ping
	//
	// data: line one
	// data: line two
}

// A same-dialect stream is forwarded byte for byte, while the data is
// peeked at: here the usage chunk is read and not forwarded.
func ExampleWriter_WriteRaw() {
	upstream := "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n" +
		"data: {\"choices\":[],\"usage\":{\"total_tokens\":9}}\r\n\r\n" +
		"data: [DONE]\r\n\r\n"
	var client bytes.Buffer
	r := sse.NewReader(strings.NewReader(upstream), nil)
	w := sse.NewWriter(&client)
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if bytes.Contains(ev.Data, []byte(`"usage":{`)) {
			fmt.Printf("usage: %s\n", ev.Data)
			continue
		}
		if err := w.WriteRaw(ev.Raw); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("%q\n", client.String())
	// Output:
	// usage: {"choices":[],"usage":{"total_tokens":9}}
	// "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n"
}

func ExampleEvent_Clone() {
	r := sse.NewReader(strings.NewReader("data: a\n\ndata: b\n\n"), nil)
	var kept []sse.Event
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		kept = append(kept, ev.Clone()) // ev itself is valid only until the next Next
	}
	for _, ev := range kept {
		fmt.Printf("%s\n", ev.Data)
	}
	// Output:
	// a
	// b
}

func ExampleIsDone() {
	fmt.Println(sse.IsDone([]byte("[DONE]")), sse.IsDone([]byte(`{"done":true}`)))
	// Output: true false
}
