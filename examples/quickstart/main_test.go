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
	var base, key, adminKey string
	sc := bufio.NewScanner(pr)
	for sc.Scan() && (base == "" || key == "" || adminKey == "") {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "wicket quickstart listening on "); ok {
			base = v
		}
		if v, ok := strings.CutPrefix(line, "api key: "); ok {
			key = v
		}
		if v, ok := strings.CutPrefix(line, "admin key: "); ok {
			adminKey = v
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || !strings.HasPrefix(key, "wk_") {
		t.Fatalf("did not print the address and key: base %q key %q", base, key)
	}

	post := func(body string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post(`{"model":"fake-echo","messages":[{"role":"user","content":"hello wicket"}]}`)
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
			ID string `json:"id"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 1 {
		t.Fatalf("admin list: %d %+v", resp.StatusCode, list)
	}
	req, _ = http.NewRequest("GET", base+"/admin/keys/"+list.Data[0].ID+"/usage", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		Requests     int64 `json:"requests"`
		OutputTokens int64 `json:"output_tokens"`
	}
	json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if u.Requests != 2 || u.OutputTokens != 4 {
		t.Errorf("usage %+v; want 2 requests, 4 output tokens", u)
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
