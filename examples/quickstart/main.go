// Command quickstart runs a wicket gateway on 127.0.0.1:8080 with
// in-memory stores and the deterministic fake model "fake-echo", served
// through all three front doors: OpenAI's chat completions, Anthropic's
// messages and Gemini's generateContent (plus the real providers' models
// when OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY is set). It
// issues a demo key, a key with a budget and an admin key, prints them
// once with ready-to-paste curl commands for each dialect, and shuts down
// gracefully on SIGINT or SIGTERM.
//
//	go run ./examples/quickstart [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wicket-gw/wicket"
	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers"
	"github.com/wicket-gw/wicket/providers/fake"
	"github.com/wicket-gw/wicket/ratelimit"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	upstreams := upstreamKeys{openai: os.Getenv("OPENAI_API_KEY"), anthropic: os.Getenv("ANTHROPIC_API_KEY"), gemini: os.Getenv("GEMINI_API_KEY")}
	if err := run(ctx, *addr, os.Stdout, logger, upstreams); err != nil {
		logger.Error("quickstart failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

// upstreamKeys are the real providers' API keys; empty ones are not used.
type upstreamKeys struct{ openai, anthropic, gemini string }

// run serves until ctx ends. It is main without the process: tests call it.
func run(ctx context.Context, addr string, out io.Writer, logger *slog.Logger, upstreams upstreamKeys) error {
	// The master secret peppers key digests. A real service loads it from a
	// secret manager; here a fresh one means keys last as long as the process.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	hasher, err := keys.NewHasher(keys.Pepper{Version: 1, Secret: secret})
	if err != nil {
		return err
	}
	km, err := keys.NewManager(keys.NewMemoryStore(), hasher, &keys.Options{Prefix: "wk", Logger: logger})
	if err != nil {
		return err
	}

	models := []providers.Model{
		// The fake models have a small made-up price in the default table,
		// so budgets work offline; fake-echo answers are short.
		{Name: "fake-echo", MaxOutputTokens: 1024, Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}},
		{Name: "fake-embed", Deployments: []providers.Deployment{{Provider: fake.NewProvider(nil)}}},
	}
	real, err := realModels(upstreams)
	if err != nil {
		return err
	}
	models = append(models, real...)
	router, err := providers.NewRouter(models, nil)
	if err != nil {
		return err
	}
	gw, err := wicket.New(wicket.Config{
		Keys:   km,
		Router: router,
		// Generous defaults for the demo; each key may carry its own.
		Limits: ratelimit.Limits{RequestsPerMinute: 600, TokensPerMinute: 1_000_000, MaxConcurrent: 20},
		Logger: logger,
	})
	if err != nil {
		return err
	}

	key, _, err := km.Issue(ctx, keys.Spec{Owner: "demo", Name: "quickstart"})
	if err != nil {
		return err
	}
	// A key with a budget: 10 cents in total, at fake-echo's price of $1
	// and $2 per million input and output tokens.
	budgeted, _, err := km.Issue(ctx, keys.Spec{Owner: "demo", Name: "quickstart-budgeted",
		Budget: keys.Budget{LimitMicros: 100_000, Period: keys.PeriodTotal}})
	if err != nil {
		return err
	}
	adminKey, _, err := km.Issue(ctx, keys.Spec{Owner: "ops", Name: "quickstart-admin", Role: keys.RoleAdmin})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", gw.Admin(nil)))
	mux.Handle("/", gw)
	// The production settings: header, read and idle time-outs (slowloris
	// connections are closed), a header cap, no write time-out (streams
	// may run long; the gateway times out idle upstreams) and a modern
	// TLS configuration for ListenAndServeTLS.
	srv := wicket.NewServer(mux)
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "wicket quickstart listening on %s\n", base)
	fmt.Fprintf(out, "api key: %s\n", key)
	fmt.Fprintf(out, "budgeted key ($0.10 in total): %s\n", budgeted)
	fmt.Fprintf(out, "admin key: %s\n", adminKey)
	fmt.Fprintln(out, "\ntry, in the dialect your client speaks:")
	for _, c := range tryCommands(base, key) {
		fmt.Fprintf(out, "  # %s\n  %s\n", c.title, c.curl())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return gw.Close(shutdownCtx)
}
