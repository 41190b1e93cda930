package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestQuickstartAnswersItsOwnCurl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", pw, slog.New(slog.NewTextHandler(io.Discard, nil)), "")
		pw.Close()
	}()
	var base, key, budgeted, adminKey string
	sc := bufio.NewScanner(pr)
	for sc.Scan() && (base == "" || key == "" || budgeted == "" || adminKey == "") {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "wicket quickstart listening on "); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(line, "api key: "); ok {
			key = v
		}
		if v, ok := strings.CutPrefix(line, "budgeted key ($0.10 in total): "); ok {
			budgeted = v
		}
		if v, ok := strings.CutPrefix(line, "admin key: "); ok {
			adminKey = v
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || !strings.HasPrefix(key, "wk_") {
		t.Fatalf("did not print the address and key: base %q key %q", base, key)
	}

	postAs := func(key, body string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	post := func(body string) *http.Response { return postAs(key, body) }
	// The budgeted key can call the fake model: it has a price.
	resp := postAs(budgeted, `{"model":"fake-echo","messages":[{"role":"user","content":"hello wicket"}]}`)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("budgeted key: %d %s; want 200", resp.StatusCode, b)
	}
	resp.Body.Close()
	resp = post(`{"model":"fake-echo","messages":[{"role":"user","content":"hello wicket"}]}`)
	var c struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(c.Choices) != 1 || c.Choices[0].Message.Content != "hello wicket" || c.Usage.TotalTokens != 5 {
		t.Fatalf("non-streamed: %d %+v", resp.StatusCode, c)
	}

	resp = post(`{"model":"fake-echo","stream":true,"messages":[{"role":"user","content":"hello wicket"}]}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"content":" wicket"`) || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		t.Fatalf("streamed: %d %s", resp.StatusCode, b)
	}

	// The admin API lists the demo key and shows its usage.
	req, _ := http.NewRequest("GET", base+"/admin/keys?owner=demo", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 2 {
		t.Fatalf("admin list: %d %+v; want the demo key and the budgeted one", resp.StatusCode, list)
	}
	for _, k := range list.Data {
		req, _ = http.NewRequest("GET", base+"/admin/keys/"+k.ID+"/usage", nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var u struct {
			Requests        int64  `json:"requests"`
			OutputTokens    int64  `json:"output_tokens"`
			SpentMicros     int64  `json:"spent_micros"`
			RemainingMicros *int64 `json:"remaining_micros"`
		}
		json.NewDecoder(resp.Body).Decode(&u)
		resp.Body.Close()
		switch k.Name {
		case "quickstart":
			if u.Requests != 2 || u.OutputTokens != 4 || u.SpentMicros == 0 {
				t.Errorf("demo key usage %+v; want 2 requests, 4 output tokens, some spend", u)
			}
		case "quickstart-budgeted":
			if u.Requests != 1 || u.SpentMicros == 0 || u.RemainingMicros == nil || *u.RemainingMicros != 100_000-u.SpentMicros {
				t.Errorf("budgeted key usage %+v; want 1 request charged against 100,000 µ$", u)
			}
		default:
			t.Errorf("unexpected key %q", k.Name)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("quickstart did not shut down")
	}
}
