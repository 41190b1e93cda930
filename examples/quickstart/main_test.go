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
		done <- run(ctx, "127.0.0.1:0", pw, slog.New(slog.NewTextHandler(io.Discard, nil)), upstreamKeys{})
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

	// Every command the quickstart printed works as printed.
	cmds := tryCommands(base, key)
	for _, c := range cmds {
		resp := do(t, c)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s; want 200 and %s", c.title, resp.StatusCode, b, c.want)
		}
	}
	// The budgeted key can call the fake model: it has a price.
	budgetedCall := cmds[0]
	budgetedCall.header = map[string]string{"Authorization": "Bearer " + budgeted}
	resp := do(t, budgetedCall)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		t.Fatalf("budgeted key: %d %s; want 200", resp.StatusCode, b)
	}
	resp.Body.Close()

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
			// Six model calls of two output tokens each, and a model list.
			if u.Requests != int64(len(cmds)) || u.OutputTokens != 12 || u.SpentMicros == 0 {
				t.Errorf("demo key usage %+v; want %d requests, 12 output tokens, some spend", u, len(cmds))
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

// do makes the call c describes.
func do(t *testing.T, c command) *http.Response {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, c.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
