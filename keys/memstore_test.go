package keys_test

import (
	"testing"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/keys/keystest"
)

func TestMemoryStoreConformance(t *testing.T) {
	keystest.RunStoreTests(t, func(*testing.T) keys.Store { return keys.NewMemoryStore() })
}
