package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
)

// With -split the harness re-executes its own binary as the proxies'
// child: the child serves both targets and a control endpoint on loopback
// and measures itself for the harness, which keeps the clients and the
// fake upstream, so that the per-request CPU and allocations are the
// proxies' own.

const (
	// childEnv, set to the fake upstream's URL, makes this binary the
	// proxies' child instead of the harness.
	childEnv = "LOADHARNESS_PROXIES_UPSTREAM"
	// childProfileEnv, if set and not empty, names the file the child
	// writes a CPU profile of itself to.
	childProfileEnv = "LOADHARNESS_PROXIES_CPUPROFILE"
	// childAAEnv, set to true, makes the child serve a second bare proxy
	// in wicket's place (-aa).
	childAAEnv = "LOADHARNESS_PROXIES_AA"
)

// hello is the child's one line on stdout, in JSON: where it serves, the
// key the gateway accepts, and the child's process.
type hello struct {
	Bare       string `json:"bare"`
	Wicket     string `json:"wicket"`
	Control    string `json:"control"`
	Key        string `json:"key"`
	PID        int    `json:"pid"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
}

// childMain runs this process as the proxies' child in front of the
// upstream at upstreamURL, until its stdin ends or it is told to quit,
// and returns its exit code.
func childMain(upstreamURL string) int {
	err := func() error {
		if path := os.Getenv(childProfileEnv); path != "" {
			stop, err := startCPUProfile(path)
			if err != nil {
				return err
			}
			defer func() {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, "loadharness child:", err)
				}
			}()
		}
		aa, _ := strconv.ParseBool(os.Getenv(childAAEnv))
		return runChild(upstreamURL, aa, os.Stdin, os.Stdout)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadharness child:", err)
		return 1
	}
	return 0
}

// runChild starts the proxies in front of the upstream at upstreamURL,
// which must be on 127.0.0.1 (with aa, two bare proxies: see
// startProxies), and the control endpoint; writes its hello
// to out; and serves until in ends (the harness closed it, or died) or
// the control endpoint is told to quit.
func runChild(upstreamURL string, aa bool, in io.Reader, out io.Writer) error {
	if u, err := url.Parse(upstreamURL); err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("%s must be an http URL on 127.0.0.1", childEnv)
	}
	p, err := startProxies(upstreamURL, aa)
	if err != nil {
		return err
	}
	defer p.Close()
	quit := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(quit) }) }
	ctl, err := serve(control(p, stop), "")
	if err != nil {
		return err
	}
	defer ctl.Close()
	h := hello{Bare: p.bare.URL, Wicket: p.wicket.URL, Control: ctl.URL, Key: p.key,
		PID: os.Getpid(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	if err := json.NewEncoder(out).Encode(h); err != nil {
		return err
	}
	go func() {
		_, _ = io.Copy(io.Discard, in)
		stop()
	}()
	<-quit
	return nil
}

// control is the child's control endpoint:
//
//   - GET /before?target=NAME collects garbage and reads the child's
//     figures and the target's accepted connections (proxies.before);
//   - GET /after?target=NAME&answered=N waits for the target to settle,
//     then reads the same (proxies.after);
//   - POST /quit makes the child exit.
//
// The readings are JSON.
func control(p *proxies, quit func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /before", func(w http.ResponseWriter, r *http.Request) {
		rd, err := p.before(r.FormValue("target"))
		reply(w, rd, err)
	})
	mux.HandleFunc("GET /after", func(w http.ResponseWriter, r *http.Request) {
		answered, err := strconv.ParseInt(r.FormValue("answered"), 10, 64)
		if err != nil || answered < 0 {
			http.Error(w, "answered must be a count", http.StatusBadRequest)
			return
		}
		rd, err := p.after(r.FormValue("target"), answered)
		reply(w, rd, err)
	})
	mux.HandleFunc("POST /quit", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		// The answer goes out before the child closes its servers.
		_ = http.NewResponseController(w).Flush()
		quit()
	})
	return mux
}

// reply writes rd as JSON, or err as a bad request.
func reply(w http.ResponseWriter, rd reading, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rd)
}
