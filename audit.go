package wicket

import (
	"github.com/wicket-gw/wicket/audit"
)

// audit emits e, for request s, through the Auditor of the gateway's
// keys.Manager (keys.Options.Auditor); without one it does nothing.
func (g *Gateway) audit(s *state, e audit.Event) {
	a := g.cfg.Keys.Auditor()
	if a == nil {
		return
	}
	if s != nil {
		e.RequestID, e.ClientIP = s.id, s.clientIP
		if rec, ok := s.principal(); ok {
			e.ActorKeyID, e.ActorKeyHint, e.Owner = rec.ID, rec.Hint, rec.Owner
		}
	}
	a.Emit(e)
}
