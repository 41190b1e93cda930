package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wicket-gw/wicket/audit"
	"io"
	"net/http"
	"strconv"
	"time"
)

// AdminOptions configures NewAdmin. A nil *AdminOptions means all defaults.
type AdminOptions struct {
	// MiddlewareOptions configure how the admin API authenticates its
	// callers (client IP, error answers, failed-auth throttle). Without a
	// Throttle, nothing limits failed authentications on the admin API.
	MiddlewareOptions
	// MaxBodyBytes caps request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// Usage, if set, serves GET /keys/{id}/usage: the key's spend, budget
	// and counts in its current period. Pass the gateway.
	Usage UsageSource
	// EraseOwner, if set, serves DELETE /owners/{owner} (admin keys only):
	// it erases everything the deployment holds for the owner and returns
	// a report, answered as JSON. Pass the gateway's (wicket.Gateway's
	// Admin does).
	EraseOwner func(ctx context.Context, owner string) (report any, err error)
}

// NewAdmin returns the admin HTTP API over m. Callers authenticate with a
// key of m, as for any request. Routes, relative to where it is mounted
// (use http.StripPrefix to mount it under a path):
//
//	POST   /keys                  create; body: Spec; 201 {"key":…,"record":…}
//	GET    /keys?owner=&after=&limit=  list (limit 1-500, default 100; after: last ID seen);
//	                              200 {"data":[…],"has_more":…}
//	GET    /keys?suspended=true&…  the same, of keys suspended now only (Manager.Suspended)
//	GET    /keys/{id}             read; 200 record
//	POST   /keys/{id}/rotate      body: {"grace_seconds":N}; 201 {"key":…,"record":…,"previous":…}
//	POST   /keys/{id}/revoke      200 record
//	POST   /keys/{id}/suspend     body: {"reason":…,"seconds":N} (0 or absent: until lifted); 200 record
//	POST   /keys/{id}/unsuspend   lift a suspension; 200 record
//	POST   /keys/{id}/budget      body: Budget ({"limit_micros":N,"period":…}; 0 removes it); 200 record
//	POST   /keys/{id}/budget/top_up  body: {"amount_micros":N}: adds to a total budget; 200 record
//	DELETE /keys/{id}             204
//	DELETE /owners/{owner}/keys   200 {"deleted":N}
//	GET    /keys/{id}/usage       200 Usage (when AdminOptions.Usage is set)
//	DELETE /owners/{owner}        200 the erasure's report (when AdminOptions.EraseOwner is set)
//
// Admin-role keys may do everything. User-role keys may list, read, see the
// usage of, revoke and suspend their own owner's keys only: another
// owner's key answers 404 and is left unchanged, and the other routes
// (lifting a suspension among them) answer 403. The plaintext key
// appears only in the create and rotate responses; no response carries a
// digest.
//
// Without AdminOptions.Throttle the admin API has no failed-auth
// protection: pass one (a *ratelimit.AuthThrottle, ideally the gateway's
// own, so that failures on either count against the same address).
func NewAdmin(m *Manager, opts *AdminOptions) http.Handler {
	var o AdminOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = WriteError
	}
	a := &admin{m: m, opts: o}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /keys", a.adminOnly(a.create))
	mux.HandleFunc("GET /keys", a.list)
	mux.HandleFunc("GET /keys/{id}", a.get)
	mux.HandleFunc("POST /keys/{id}/rotate", a.adminOnly(a.rotate))
	mux.HandleFunc("POST /keys/{id}/revoke", a.revoke)
	mux.HandleFunc("POST /keys/{id}/suspend", a.suspend)
	mux.HandleFunc("POST /keys/{id}/unsuspend", a.adminOnly(a.unsuspend))
	mux.HandleFunc("POST /keys/{id}/budget", a.adminOnly(a.setBudget))
	mux.HandleFunc("POST /keys/{id}/budget/top_up", a.adminOnly(a.topUp))
	if o.Usage != nil {
		mux.HandleFunc("GET /keys/{id}/usage", a.usage)
	}
	mux.HandleFunc("DELETE /keys/{id}", a.adminOnly(a.delete))
	mux.HandleFunc("DELETE /owners/{owner}/keys", a.adminOnly(a.deleteOwner))
	if o.EraseOwner != nil {
		mux.HandleFunc("DELETE /owners/{owner}", a.adminOnly(a.eraseOwner))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		o.ErrorHandler(w, r, fmt.Errorf("%w: no such admin route", ErrNotFound))
	})
	return m.Middleware(&o.MiddlewareOptions)(a.audited(mux))
}

type admin struct {
	m    *Manager
	opts AdminOptions
}

func (a *admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.opts.ErrorHandler(w, r, err)
}

func caller(r *http.Request) *Record {
	rec, _ := PrincipalFrom(r.Context())
	return rec
}

func (a *admin) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if caller(r).Role != RoleAdmin {
			a.fail(w, r, fmt.Errorf("%w: this admin action needs an admin key", ErrForbidden))
			return
		}
		h(w, r)
	}
}

// visible returns the record with the ID if the caller may see it; another
// owner's key is reported as not found, so its existence does not leak.
func (a *admin) visible(r *http.Request, id string) (*Record, error) {
	rec, err := a.m.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if c := caller(r); c.Role != RoleAdmin && rec.Owner != c.Owner {
		return nil, ErrNotFound
	}
	return rec, nil
}

func (a *admin) decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty request body", ErrInvalid)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: request body too large", ErrInvalid)
		}
		// json's messages name fields and types, never values.
		return fmt.Errorf("%w: request body is not valid JSON for this route: %s", ErrInvalid, jsonProblem(err))
	}
	return nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + strconv.Quote(te.Field) + " has the wrong type"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return "unknown field or bad value"
}

type issued struct {
	Key      string  `json:"key"`
	Record   *Record `json:"record"`
	Previous *Record `json:"previous,omitempty"`
}

func (a *admin) create(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	if err := a.decode(w, r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	key, rec, err := a.m.Issue(r.Context(), spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, issued{Key: key, Record: rec})
}

func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	q := ListQuery{Owner: r.URL.Query().Get("owner"), After: r.URL.Query().Get("after"), Limit: defaultAdminPage}
	listFn := a.m.List
	switch r.URL.Query().Get("suspended") {
	case "":
	case "true":
		listFn = a.m.Suspended
	default:
		a.fail(w, r, fmt.Errorf("%w: suspended must be true or absent", ErrInvalid))
		return
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAdminPage {
			a.fail(w, r, fmt.Errorf("%w: limit must be 1 to %d", ErrInvalid, maxAdminPage))
			return
		}
		q.Limit = n
	}
	if c := caller(r); c.Role != RoleAdmin {
		if q.Owner != "" && q.Owner != c.Owner {
			writeJSON(w, http.StatusOK, listing{Data: []*Record{}})
			return
		}
		q.Owner = c.Owner
	}
	size := q.Limit
	q.Limit++ // one more than asked tells whether another page exists
	recs, err := listFn(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	more := len(recs) > size
	recs = recs[:min(len(recs), size)]
	writeJSON(w, http.StatusOK, listing{Data: recs, HasMore: more})
}

// Admin list pages: small enough for one response, and one more than the
// largest still fits within MaxListLimit.
const (
	defaultAdminPage = 100
	maxAdminPage     = 500
)

type listing struct {
	Data    []*Record `json:"data"`
	HasMore bool      `json:"has_more"`
}

func (a *admin) get(w http.ResponseWriter, r *http.Request) {
	rec, err := a.visible(r, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *admin) rotate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		GraceSeconds int64 `json:"grace_seconds"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(w, r, &body); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if body.GraceSeconds < 0 || body.GraceSeconds > 90*24*3600 {
		a.fail(w, r, fmt.Errorf("%w: grace_seconds must be 0 to 7776000", ErrInvalid))
		return
	}
	key, next, prev, err := a.m.Rotate(r.Context(), r.PathValue("id"), time.Duration(body.GraceSeconds)*time.Second)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, issued{Key: key, Record: next, Previous: prev})
}

func (a *admin) revoke(w http.ResponseWriter, r *http.Request) {
	if _, err := a.visible(r, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.m.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// maxSuspendSeconds bounds a suspension's length through the admin API: a
// longer one is better left until lifted.
const maxSuspendSeconds = 365 * 24 * 3600

func (a *admin) suspend(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reason  string `json:"reason"`
		Seconds int64  `json:"seconds"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if body.Seconds < 0 || body.Seconds > maxSuspendSeconds {
		a.fail(w, r, fmt.Errorf("%w: seconds must be 0 to %d", ErrInvalid, maxSuspendSeconds))
		return
	}
	if _, err := a.visible(r, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.m.Suspend(r.Context(), r.PathValue("id"), body.Reason, time.Duration(body.Seconds)*time.Second)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *admin) unsuspend(w http.ResponseWriter, r *http.Request) {
	rec, err := a.m.Unsuspend(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *admin) setBudget(w http.ResponseWriter, r *http.Request) {
	var b Budget
	if err := a.decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.m.SetBudget(r.Context(), r.PathValue("id"), b)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *admin) topUp(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AmountMicros int64 `json:"amount_micros"`
	}
	if err := a.decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := a.m.TopUp(r.Context(), r.PathValue("id"), body.AmountMicros)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (a *admin) usage(w http.ResponseWriter, r *http.Request) {
	rec, err := a.visible(r, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.opts.Usage.KeyUsage(r.Context(), rec)
	if err != nil {
		a.fail(w, r, fmt.Errorf("keys: usage unavailable: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (a *admin) delete(w http.ResponseWriter, r *http.Request) {
	if err := a.m.Delete(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) deleteOwner(w http.ResponseWriter, r *http.Request) {
	n, err := a.m.DeleteOwner(r.Context(), r.PathValue("owner"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func (a *admin) eraseOwner(w http.ResponseWriter, r *http.Request) {
	report, err := a.opts.EraseOwner(r.Context(), r.PathValue("owner"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// audited emits one admin.request audit event per call that passed
// authentication, after it is answered: the route called (its pattern),
// the key or owner it named, and whether it was allowed, refused (and
// why) or failed.
func (a *admin) audited(next http.Handler) http.Handler {
	if a.m.opts.Auditor == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		e := audit.Event{Action: audit.ActionAdminRequest, Outcome: audit.OutcomeAllowed, Operation: r.Pattern,
			Subject: r.PathValue("id"), Owner: r.PathValue("owner"), ClientIP: a.opts.clientIP(r)}
		switch st := sw.status; {
		case st == http.StatusForbidden:
			e.Outcome, e.Reason = audit.OutcomeRefused, audit.ReasonForbidden
		case st == http.StatusNotFound:
			e.Outcome, e.Reason = audit.OutcomeRefused, audit.ReasonNotFound
		case st >= 500:
			e.Outcome, e.Reason = audit.OutcomeFailed, audit.ReasonInternal
		case st >= 400:
			e.Outcome, e.Reason = audit.OutcomeRefused, audit.ReasonInvalid
		}
		a.m.audit(r.Context(), e)
	})
}

// statusWriter notes the status an answer was sent with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
