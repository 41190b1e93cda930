package keys_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wicket-gw/wicket/audit"
	"github.com/wicket-gw/wicket/keys"
)

// fakeGitHub serves GitHub's secret scanning public key document and
// counts fetches.
type fakeGitHub struct {
	t       testing.TB
	srv     *httptest.Server
	fetches atomic.Int64

	mu     sync.Mutex
	keys   []*ecdsa.PublicKey
	status int
}

func newFakeGitHub(t testing.TB, pubs ...*ecdsa.PublicKey) *fakeGitHub {
	g := &fakeGitHub{t: t, keys: pubs, status: http.StatusOK}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.fetches.Add(1)
	if r.Method != http.MethodGet || r.URL.Path != "/meta/public_keys/secret_scanning" {
		g.t.Errorf("fake GitHub got %s %s; want GET /meta/public_keys/secret_scanning", r.Method, r.URL.Path)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.status != http.StatusOK {
		w.WriteHeader(g.status)
		return
	}
	type ghKey struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	}
	var doc struct {
		PublicKeys []ghKey `json:"public_keys"`
	}
	for i, k := range g.keys {
		doc.PublicKeys = append(doc.PublicKeys, ghKey{KeyIdentifier: scanKeyID(g.t, k), Key: pemOf(g.t, k), IsCurrent: i == len(g.keys)-1})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (g *fakeGitHub) url() string { return g.srv.URL + "/meta/public_keys/secret_scanning" }

func (g *fakeGitHub) setKeys(pubs ...*ecdsa.PublicKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys = pubs
}

func pemOf(t testing.TB, k *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// scanKeyID names a key as GitHub does: the hex SHA-256 of its DER form.
func scanKeyID(t testing.TB, k *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func newSigner(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, k *ecdsa.PrivateKey, body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type scanEnv struct {
	fx     *fixture
	sink   *audit.MemorySink
	aud    *audit.Auditor
	logs   *lockedBuffer
	gh     *fakeGitHub
	signer *ecdsa.PrivateKey
	srv    *httptest.Server
	// handler is what srv serves; use swaps it.
	handler atomic.Pointer[http.Handler]
}

func (e *scanEnv) use(h http.Handler) { e.handler.Store(&h) }

// newScanEnv returns a Manager behind a SecretScanning endpoint whose keys
// come from a fake GitHub serving one signing key. opts may be nil; its
// Keys, if unset, are a GitHubScanKeys over the fake GitHub on the
// fixture's clock.
func newScanEnv(t testing.TB, opts *keys.ScanOptions) *scanEnv {
	t.Helper()
	e := &scanEnv{sink: &audit.MemorySink{}, logs: &lockedBuffer{}, signer: newSigner(t)}
	var err error
	if e.aud, err = audit.New(e.sink, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.aud.Close(context.Background()) })
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.fx = newFixture(t, &keys.Options{Auditor: e.aud, Logger: logger})
	e.gh = newFakeGitHub(t, &e.signer.PublicKey)
	var o keys.ScanOptions
	if opts != nil {
		o = *opts
	}
	if o.Keys == nil {
		o.Keys = e.githubKeys(t)
	}
	h, err := e.fx.m.SecretScanning(&o)
	if err != nil {
		t.Fatalf("SecretScanning: %v", err)
	}
	e.use(h)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *scanEnv) githubKeys(t testing.TB) *keys.GitHubScanKeys {
	k, err := keys.NewGitHubScanKeys(&keys.GitHubScanKeysOptions{URL: e.gh.url(), Client: e.gh.srv.Client(), Now: e.fx.clock.Now})
	if err != nil {
		t.Fatalf("NewGitHubScanKeys: %v", err)
	}
	return k
}

// do sends a request to the endpoint; empty header values are left out.
func (e *scanEnv) do(t testing.TB, method, ctype string, body []byte, keyID, sig string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Content-Type": ctype, "Github-Public-Key-Identifier": keyID, "Github-Public-Key-Signature": sig} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// report POSTs body signed with the env's GitHub key.
func (e *scanEnv) report(t testing.TB, body []byte) (int, []byte) {
	t.Helper()
	return e.do(t, http.MethodPost, "application/json", body, scanKeyID(t, &e.signer.PublicKey), sign(t, e.signer, body))
}

// events flushes the auditor and returns what the sink holds.
func (e *scanEnv) events(t testing.TB) []audit.Event {
	t.Helper()
	if err := e.aud.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.sink.Events()
}

type feedback struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

func decodeFeedback(t testing.TB, body []byte) []feedback {
	t.Helper()
	var out []feedback
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("response %q is not feedback JSON: %v", body, err)
	}
	return out
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

const leakURL = "https://github.com/octo/repo/blob/abc123/config.env?secret=1"

func reportBody(t testing.TB, tokens ...string) []byte {
	t.Helper()
	type item struct {
		Token  string `json:"token"`
		Type   string `json:"type"`
		URL    string `json:"url"`
		Source string `json:"source"`
	}
	items := []item{}
	for _, tok := range tokens {
		items = append(items, item{Token: tok, Type: "wicket_api_key", URL: leakURL, Source: "content"})
	}
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSecretScanningRevokesLeakedKey(t *testing.T) {
	e := newScanEnv(t, nil)
	key, rec := e.fx.issue(t, keys.Spec{Owner: "alice"})
	other, otherRec := e.fx.issue(t, keys.Spec{Owner: "bob"})
	// Cache the key first: the report must not be undone by the cache.
	if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); err != nil {
		t.Fatalf("Verify before report: %v", err)
	}

	sig := sign(t, e.signer, reportBody(t, key))
	status, body := e.do(t, http.MethodPost, "application/json", reportBody(t, key), scanKeyID(t, &e.signer.PublicKey), sig)
	if status != http.StatusOK {
		t.Fatalf("status: got %d (%s); want 200", status, body)
	}
	want := []feedback{{TokenHash: tokenHash(key), TokenType: "wicket_api_key", Label: "true_positive"}}
	if diff := cmp.Diff(want, decodeFeedback(t, body)); diff != "" {
		t.Errorf("feedback (-want +got):\n%s", diff)
	}
	if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); !errors.Is(err, keys.ErrRevoked) {
		t.Errorf("Verify after report: got %v; want ErrRevoked", err)
	}
	// And through the middleware.
	mw := e.fx.m.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	mw.ServeHTTP(rr, req)
	if rr.Code != http.StatusUnauthorized {
		t.Errorf("middleware after report: got %d; want 401", rr.Code)
	}
	if _, err := e.fx.m.Verify(context.Background(), other, netip.Addr{}); err != nil {
		t.Errorf("Verify of an unreported key: got %v; want nil", err)
	}

	// Reported again (another body): still true_positive, not revoked twice.
	first, err := e.fx.m.Get(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.fx.clock.Advance(time.Hour)
	status, body = e.report(t, reportBody(t, key, key))
	if status != http.StatusOK {
		t.Fatalf("second report: status %d (%s); want 200", status, body)
	}
	want = append(want, want[0])
	if diff := cmp.Diff(want, decodeFeedback(t, body)); diff != "" {
		t.Errorf("second feedback (-want +got):\n%s", diff)
	}
	again, err := e.fx.m.Get(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !again.RevokedAt.Equal(first.RevokedAt) {
		t.Errorf("RevokedAt: got %v after second report; want first revocation %v", again.RevokedAt, first.RevokedAt)
	}

	var leaked, revoked int
	for _, ev := range e.events(t) {
		txt := fmt.Sprintf("%+v", ev)
		for _, secret := range []string{key, other, leakURL, "octo/repo", sig} {
			if strings.Contains(txt, secret) {
				t.Errorf("audit event %s carries a secret (%q)", txt, secret)
			}
		}
		switch ev.Action {
		case audit.ActionKeyLeaked:
			leaked++
			want := audit.Event{Time: ev.Time, Action: audit.ActionKeyLeaked, Outcome: audit.OutcomeAllowed, Subject: rec.ID, Owner: "alice", ActorKeyHint: rec.Hint}
			if ev != want {
				t.Errorf("leak event:\n got  %+v\n want %+v", ev, want)
			}
		case audit.ActionKeyRevoked:
			revoked++
			if ev.Subject != rec.ID {
				t.Errorf("revoked %s; want only %s (not %s)", ev.Subject, rec.ID, otherRec.ID)
			}
		}
	}
	// One leak event per report that found the key (a token reported twice
	// in one report counts once), one revocation.
	if leaked != 2 || revoked != 1 {
		t.Errorf("got %d key.leaked and %d key.revoked events; want 2 and 1", leaked, revoked)
	}
	if logs := e.logs.String(); strings.Contains(logs, key) || strings.Contains(logs, "octo/repo") {
		t.Errorf("logs carry the key or the URL: %s", logs)
	}
}

func TestSecretScanningRefuses(t *testing.T) {
	e := newScanEnv(t, &keys.ScanOptions{MaxBodyBytes: 4 << 10})
	key, _ := e.fx.issue(t, keys.Spec{})
	good := reportBody(t, key)
	id := scanKeyID(t, &e.signer.PublicKey)
	stranger := newSigner(t)
	altered := bytes.Replace(good, []byte("content"), []byte("commits"), 1)
	big := reportBody(t, key, strings.Repeat("x", 5<<10))
	type req struct {
		method string
		body   []byte
		keyID  string
		sig    string
	}
	signed := func(b string) req { return req{http.MethodPost, []byte(b), id, sign(t, e.signer, []byte(b))} }
	for _, tc := range []struct {
		name  string
		ctype string
		req   req
		want  int
	}{
		{"bad signature", "", req{http.MethodPost, altered, id, sign(t, e.signer, good)}, http.StatusUnauthorized},
		{"signed by another key", "", req{http.MethodPost, good, id, sign(t, stranger, good)}, http.StatusUnauthorized},
		{"unknown key id", "", req{http.MethodPost, good, scanKeyID(t, &stranger.PublicKey), sign(t, stranger, good)}, http.StatusUnauthorized},
		{"missing key id", "", req{http.MethodPost, good, "", sign(t, e.signer, good)}, http.StatusUnauthorized},
		{"missing signature", "", req{http.MethodPost, good, id, ""}, http.StatusUnauthorized},
		{"key id not hex", "", req{http.MethodPost, good, "not-hex!", sign(t, e.signer, good)}, http.StatusUnauthorized},
		{"signature not base64", "", req{http.MethodPost, good, id, "%%%"}, http.StatusUnauthorized},
		{"signature garbage", "", req{http.MethodPost, good, id, base64.StdEncoding.EncodeToString([]byte("nope"))}, http.StatusUnauthorized},
		{"GET", "", req{http.MethodGet, nil, id, sign(t, e.signer, nil)}, http.StatusMethodNotAllowed},
		{"PUT", "", req{http.MethodPut, good, id, sign(t, e.signer, good)}, http.StatusMethodNotAllowed},
		{"not JSON content type", "text/plain", req{http.MethodPost, good, id, sign(t, e.signer, good)}, http.StatusUnsupportedMediaType},
		{"body too large", "", req{http.MethodPost, big, id, sign(t, e.signer, big)}, http.StatusRequestEntityTooLarge},
		{"not JSON", "", signed("not json " + key), http.StatusBadRequest},
		{"object not array", "", signed(`{"token":"` + key + `"}`), http.StatusBadRequest},
		{"token not a string", "", signed(`[{"token":["` + key + `"]}]`), http.StatusBadRequest},
		{"token missing", "", signed(`[{"type":"x"}, {"token":"` + key + `"}]`), http.StatusBadRequest},
		{"array of strings", "", signed(`["` + key + `"]`), http.StatusBadRequest},
		{"null", "", signed(`null`), http.StatusBadRequest},
		{"trailing garbage", "", signed(`[{"token":"` + key + `"}] x`), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			before := e.fx.store.lookups.Load()
			status, body := e.do(t, tc.req.method, ctype, tc.req.body, tc.req.keyID, tc.req.sig)
			if status != tc.want {
				t.Errorf("status: got %d (%s); want %d", status, body, tc.want)
			}
			if strings.Contains(string(body), key) || !json.Valid(body) {
				t.Errorf("answer %q carries the key or is not JSON", body)
			}
			if n := e.fx.store.lookups.Load() - before; n != 0 {
				t.Errorf("store lookups: got %d; want 0", n)
			}
			if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); err != nil {
				t.Errorf("Verify after refused report: got %v; want nil", err)
			}
		})
	}
	for _, ev := range e.events(t) {
		if ev.Action == audit.ActionKeyLeaked || ev.Action == audit.ActionKeyRevoked {
			t.Errorf("refused reports emitted %+v", ev)
		}
	}
}

func TestSecretScanningReplay(t *testing.T) {
	// A replayed report of a live key must be refused before any lookup;
	// a custom action lets the key survive the first report.
	var acted atomic.Int64
	e := newScanEnv(t, &keys.ScanOptions{Action: func(context.Context, *keys.Record) error {
		acted.Add(1)
		return nil
	}})
	key, _ := e.fx.issue(t, keys.Spec{})

	body := reportBody(t, key)
	sig := sign(t, e.signer, body)
	id := scanKeyID(t, &e.signer.PublicKey)
	if status, b := e.do(t, http.MethodPost, "application/json", body, id, sig); status != http.StatusOK {
		t.Fatalf("first report: status %d (%s); want 200", status, b)
	}
	before := e.fx.store.lookups.Load()
	status, b := e.do(t, http.MethodPost, "application/json", body, id, sig)
	if status != http.StatusConflict {
		t.Errorf("replay: status %d (%s); want 409", status, b)
	}
	if n := e.fx.store.lookups.Load() - before; n != 0 {
		t.Errorf("replay: %d store lookups; want 0", n)
	}
	if n := acted.Load(); n != 1 {
		t.Errorf("action calls: got %d; want 1", n)
	}
	if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); err != nil {
		t.Errorf("Verify after replay: got %v; want nil", err)
	}
	// Past the window the same body is a new report.
	e.fx.clock.Advance(24 * time.Hour)
	if status, b := e.do(t, http.MethodPost, "application/json", body, id, sig); status != http.StatusOK {
		t.Errorf("after the window: status %d (%s); want 200", status, b)
	}
}

func TestSecretScanningFalsePositives(t *testing.T) {
	e := newScanEnv(t, nil)
	key, _ := e.fx.issue(t, keys.Spec{})
	stranger := newFixture(t, nil) // same format, another pepper and store
	unknown, _ := stranger.issue(t, keys.Spec{})
	for _, tc := range []struct {
		name    string
		token   string
		typ     string
		lookups int64
		want    feedback
	}{
		{"unknown well-formed key", unknown, "wicket_api_key", 1, feedback{tokenHash(unknown), "wicket_api_key", "false_positive"}},
		{"bad checksum", key[:len(key)-1] + string(key[len(key)-1]^1), "wicket_api_key", 0, feedback{tokenHash(key[:len(key)-1] + string(key[len(key)-1]^1)), "wicket_api_key", "false_positive"}},
		{"another prefix", "ghp_" + key[3:], "wicket_api_key", 0, feedback{tokenHash("ghp_" + key[3:]), "wicket_api_key", "false_positive"}},
		{"garbage", "hello world", "x", 0, feedback{tokenHash("hello world"), "x", "false_positive"}},
		{"empty", "", "", 0, feedback{tokenHash(""), "", "false_positive"}},
		{"type not echoed", "wk_short", "has spaces <script>", 0, feedback{tokenHash("wk_short"), "", "false_positive"}},
		{"long type not echoed", "wk_short2", strings.Repeat("a", 65), 0, feedback{tokenHash("wk_short2"), "", "false_positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal([]map[string]string{{"token": tc.token, "type": tc.typ, "url": leakURL, "source": "content"}})
			if err != nil {
				t.Fatal(err)
			}
			before := e.fx.store.lookups.Load()
			status, b := e.report(t, body)
			if status != http.StatusOK {
				t.Fatalf("status: got %d (%s); want 200", status, b)
			}
			if diff := cmp.Diff([]feedback{tc.want}, decodeFeedback(t, b)); diff != "" {
				t.Errorf("feedback (-want +got):\n%s", diff)
			}
			if n := e.fx.store.lookups.Load() - before; n != tc.lookups {
				t.Errorf("store lookups: got %d; want %d", n, tc.lookups)
			}
		})
	}
	if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); err != nil {
		t.Errorf("Verify after false positives: got %v; want nil", err)
	}
	if _, err := stranger.m.Verify(context.Background(), unknown, netip.Addr{}); err != nil {
		t.Errorf("the other Manager's key: got %v; want nil", err)
	}
	for _, ev := range e.events(t) {
		if ev.Action == audit.ActionKeyLeaked || ev.Action == audit.ActionKeyRevoked {
			t.Errorf("false positives emitted %+v", ev)
		}
	}
}

func TestSecretScanningPreviousPepper(t *testing.T) {
	e := newScanEnv(t, nil)
	key, rec := e.fx.issue(t, keys.Spec{})
	h, err := keys.NewHasher(keys.Pepper{Version: 2, Secret: testSecret('b')}, keys.Pepper{Version: 1, Secret: testSecret('a')})
	if err != nil {
		t.Fatal(err)
	}
	next := newFixtureWith(t, e.fx.store, h, nil) // the same store after a pepper rotation
	handler, err := next.m.SecretScanning(&keys.ScanOptions{Keys: e.githubKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.use(handler)
	status, b := e.report(t, reportBody(t, key))
	if status != http.StatusOK {
		t.Fatalf("status: got %d (%s); want 200", status, b)
	}
	if got := decodeFeedback(t, b); len(got) != 1 || got[0].Label != "true_positive" {
		t.Errorf("feedback: got %+v; want one true_positive", got)
	}
	if got, err := next.m.Get(context.Background(), rec.ID); err != nil || got.RevokedAt.IsZero() {
		t.Errorf("record after report: got %+v, %v; want revoked", got, err)
	}
}

func TestSecretScanningCustomAction(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fail := atomic.Bool{}
	fail.Store(true)
	e := newScanEnv(t, &keys.ScanOptions{Action: func(_ context.Context, rec *keys.Record) error {
		if fail.Load() {
			return errors.New("suspension service down")
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, rec.ID)
		return nil
	}})
	key, rec := e.fx.issue(t, keys.Spec{})
	body := reportBody(t, key)

	// A failing action answers 503, and GitHub's retry of the same body is
	// not taken for a replay.
	if status, b := e.report(t, body); status != http.StatusServiceUnavailable {
		t.Errorf("failing action: status %d (%s); want 503", status, b)
	}
	fail.Store(false)
	status, b := e.report(t, body)
	if status != http.StatusOK {
		t.Fatalf("status: got %d (%s); want 200", status, b)
	}
	if fb := decodeFeedback(t, b); len(fb) != 1 || fb[0].Label != "true_positive" {
		t.Errorf("feedback: got %+v; want one true_positive", fb)
	}
	mu.Lock()
	if diff := cmp.Diff([]string{rec.ID}, got); diff != "" {
		t.Errorf("action calls (-want +got):\n%s", diff)
	}
	mu.Unlock()
	if _, err := e.fx.m.Verify(context.Background(), key, netip.Addr{}); err != nil {
		t.Errorf("Verify: got %v; want nil (the custom action does not revoke)", err)
	}
	var outcomes []audit.Outcome
	for _, ev := range e.events(t) {
		if ev.Action == audit.ActionKeyRevoked {
			t.Errorf("custom action: got %+v; want no revocation", ev)
		}
		if ev.Action == audit.ActionKeyLeaked {
			outcomes = append(outcomes, ev.Outcome)
		}
	}
	if diff := cmp.Diff([]audit.Outcome{audit.OutcomeFailed, audit.OutcomeAllowed}, outcomes); diff != "" {
		t.Errorf("key.leaked outcomes (-want +got):\n%s", diff)
	}
}

func TestSecretScanningKeyRefresh(t *testing.T) {
	e := newScanEnv(t, nil)
	rotated := newSigner(t)
	body := reportBody(t, "wk_nothing")
	withRotated := func() int {
		status, _ := e.do(t, http.MethodPost, "application/json", body, scanKeyID(t, &rotated.PublicKey), sign(t, rotated, body))
		return status
	}

	if status, b := e.report(t, body); status != http.StatusOK {
		t.Fatalf("first report: status %d (%s); want 200", status, b)
	}
	if n := e.gh.fetches.Load(); n != 1 {
		t.Fatalf("fetches after first report: got %d; want 1", n)
	}
	// GitHub rotates: the new key is found by one refetch, once the
	// refresh interval allows it.
	e.gh.setKeys(&e.signer.PublicKey, &rotated.PublicKey)
	e.fx.clock.Advance(time.Minute)
	body = reportBody(t, "wk_nothing1") // a new body, not a replay
	if status := withRotated(); status != http.StatusOK {
		t.Errorf("rotated key: status %d; want 200", status)
	}
	if n := e.gh.fetches.Load(); n != 2 {
		t.Errorf("fetches after rotation: got %d; want 2", n)
	}
	body = reportBody(t, "wk_nothing2") // a new body, not a replay
	if status := withRotated(); status != http.StatusOK {
		t.Errorf("rotated key, again: status %d; want 200", status)
	}
	if n := e.gh.fetches.Load(); n != 2 {
		t.Errorf("fetches for a known key: got %d; want 2", n)
	}

	// A flood of made-up identifiers costs at most one fetch per interval.
	flood := func() {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				bogus := newSigner(t)
				b := reportBody(t, fmt.Sprint("wk_flood", i))
				status, _ := e.do(t, http.MethodPost, "application/json", b, scanKeyID(t, &bogus.PublicKey), sign(t, bogus, b))
				if status != http.StatusUnauthorized {
					t.Errorf("bogus key id: status %d; want 401", status)
				}
			})
		}
		wg.Wait()
	}
	flood()
	if n := e.gh.fetches.Load(); n != 2 {
		t.Errorf("fetches after a flood within the interval: got %d; want 2", n)
	}
	e.fx.clock.Advance(time.Minute)
	flood()
	if n := e.gh.fetches.Load(); n != 3 {
		t.Errorf("fetches after a flood past the interval: got %d; want 3", n)
	}
}

func TestSecretScanningKeysUnavailable(t *testing.T) {
	e := newScanEnv(t, nil)
	e.gh.mu.Lock()
	e.gh.status = http.StatusInternalServerError
	e.gh.mu.Unlock()
	if status, b := e.report(t, reportBody(t, "wk_x")); status != http.StatusServiceUnavailable {
		t.Errorf("GitHub down: status %d (%s); want 503", status, b)
	}
	e.gh.mu.Lock()
	e.gh.status = http.StatusOK
	e.gh.mu.Unlock()
	e.fx.clock.Advance(time.Minute)
	if status, b := e.report(t, reportBody(t, "wk_x")); status != http.StatusOK {
		t.Errorf("GitHub back: status %d (%s); want 200", status, b)
	}
	if logs := e.logs.String(); strings.Contains(logs, e.gh.srv.URL) {
		t.Errorf("logs carry the key document URL: %s", logs)
	}
}

func TestSecretScanningOptions(t *testing.T) {
	fx := newFixture(t, nil)
	for _, tc := range []struct {
		name  string
		opts  keys.ScanOptions
		field string
	}{
		{"negative window", keys.ScanOptions{ReplayWindow: -time.Second}, "ReplayWindow"},
		{"negative cache", keys.ScanOptions{ReplayCacheSize: -1}, "ReplayCacheSize"},
		{"negative body cap", keys.ScanOptions{MaxBodyBytes: -1}, "MaxBodyBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fx.m.SecretScanning(&tc.opts)
			if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v; want ErrInvalid naming %s", err, tc.field)
			}
		})
	}
	if _, err := fx.m.SecretScanning(nil); err != nil {
		t.Errorf("nil options: got %v; want nil", err)
	}
	for _, tc := range []struct {
		name  string
		opts  keys.GitHubScanKeysOptions
		field string
	}{
		{"negative interval", keys.GitHubScanKeysOptions{RefreshInterval: -time.Second}, "RefreshInterval"},
		{"relative URL", keys.GitHubScanKeysOptions{URL: "/meta"}, "URL"},
		{"other scheme", keys.GitHubScanKeysOptions{URL: "ftp://example.com/keys"}, "URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.NewGitHubScanKeys(&tc.opts)
			if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v; want ErrInvalid naming %s", err, tc.field)
			}
		})
	}
}

// FuzzSecretScanningBody feeds the endpoint arbitrary bodies, signed so
// that they pass the signature check: it must never panic, answer only 200,
// 400 or 409, never echo the key, and act on (or even look up) a key only
// when the body holds a well-formed token (and act only on the key itself).
func FuzzSecretScanningBody(f *testing.F) {
	var acted atomic.Value // the ID of the last record acted on
	e := newScanEnv(f, nil)
	key, rec := e.fx.issue(f, keys.Spec{})
	format := e.fx.m.Format()
	for _, seed := range []string{
		string(reportBody(f, key)), string(reportBody(f, "wk_nothing", key)), `[]`, `null`, `{}`, `[{}]`,
		`[{"token":5}]`, `[{"token":null}]`, `["x"]`, `[{"token":"x","type":"` + strings.Repeat("é", 40) + `"}]`,
		`[{"token":"` + key + `","token":"y"}]`, `[{"TOKEN":"` + key + `"}]`, "not json", "",
	} {
		f.Add([]byte(seed))
	}
	id := scanKeyID(f, &e.signer.PublicKey)
	h, err := e.fx.m.SecretScanning(&keys.ScanOptions{Keys: e.githubKeys(f), ReplayWindow: time.Nanosecond, Action: func(_ context.Context, rec *keys.Record) error {
		acted.Store(rec.ID)
		return nil
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		acted.Store("")
		before := e.fx.store.lookups.Load()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Github-Public-Key-Identifier", id)
		req.Header.Set("Github-Public-Key-Signature", sign(t, e.signer, body))
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		e.fx.clock.Advance(time.Second) // past the (tiny) replay window

		switch rr.Code {
		case http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("status %d (%s); want 200 or 400", rr.Code, rr.Body)
		}
		if strings.Contains(rr.Body.String(), key) {
			t.Fatalf("answer %q echoes the key", rr.Body)
		}
		// What the body holds, decoded the loosest way.
		var items []map[string]any
		_ = json.Unmarshal(body, &items)
		wellFormed, holdsKey := false, false
		for _, it := range items {
			for _, v := range it {
				if s, ok := v.(string); ok {
					wellFormed = wellFormed || format.Parse(s) == nil
					holdsKey = holdsKey || s == key
				}
			}
		}
		if n := e.fx.store.lookups.Load() - before; n > 0 && !wellFormed {
			t.Fatalf("%d store lookups for a body without a well-formed token", n)
		}
		if got := acted.Load().(string); got != "" && (got != rec.ID || !holdsKey) {
			t.Fatalf("acted on %q for a body without the key", got)
		}
		if rr.Code == http.StatusOK {
			var fb []feedback
			if err := json.Unmarshal(rr.Body.Bytes(), &fb); err != nil || len(fb) != len(items) {
				t.Fatalf("feedback %q: %v; want %d elements", rr.Body, err, len(items))
			}
		}
	})
}
