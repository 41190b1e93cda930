package wicket

import (
	"io"
	"net/http"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/providers"
)

// Decode is the front-door step for one of door's routes: it reads the
// body (up to the cap), has the door pick out what routing, limits and
// budgets need, and answers malformed input with 400 and an over-long body
// with 413, in the door's dialect.
func (g *Gateway) Decode(door providers.FrontDoor, route providers.Route) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := g.ensureState(r)
			s.dialect, s.door = door.Dialect(), door
			s.outcome.Endpoint = route.Path
			s.outcome.ErrorClass = metering.ClassInvalidRequest // until decoded
			body, err := readBody(r, g.cfg.MaxBodyBytes)
			if err != nil {
				if isTooLarge(err) {
					fail(w, r, tooLarge(g.cfg.MaxBodyBytes))
					return
				}
				fail(w, r, &providers.Error{Status: http.StatusBadRequest, Code: "body_read_failed", Message: "The request body could not be read."})
				return
			}
			req, perr := door.Decode(route, r, body)
			if perr != nil {
				fail(w, r, perr)
				return
			}
			s.outcome.ErrorClass = ""
			req.RequestID = s.id
			s.req = req
			// The model name is the client's free text until it names a
			// configured model: Authorize records it then.
			s.outcome.Stream = req.Stream
			next.ServeHTTP(w, r)
		})
	}
}

// errTooLarge marks a body over the cap when no Guard's MaxBytesReader
// caught it first.
var errTooLarge = &http.MaxBytesError{}

// readBody reads the whole body, at most limit bytes: with a declared
// length into one exact allocation, else growing as it goes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if n := r.ContentLength; n > limit {
		return nil, errTooLarge
	} else if n > 0 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return nil, errTooLarge
	}
	return buf, nil
}
