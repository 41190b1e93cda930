package sdkcheck_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wicket-gw/wicket/keys"
	"github.com/wicket-gw/wicket/providers/fake"
)

// TestModels checks that the model list and a single model decode into the
// SDK's types, and that a key with model scopes sees only its models.
func TestModels(t *testing.T) {
	h := newHarness(t, options{})
	all := slices.Sorted(slices.Values(fake.Models))
	cases := []struct {
		name   string
		scopes []string
		want   []string
		hidden string // a model the key may not see
	}{
		{"unscoped", nil, all, "no-such-model"},
		{"scoped", []string{"fake-echo", "fake-em*"}, []string{"fake-echo", "fake-embed"}, "fake-error-500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := h.client(h.issue(t, keys.Spec{Scopes: keys.Scopes{Models: tc.scopes}}), noRetries)

			page, err := client.Models.List(t.Context())
			if err != nil {
				t.Fatalf("Models.List: %v", err)
			}
			var listed []string
			for _, m := range page.Data {
				listed = append(listed, m.ID)
				if m.Object != "model" || m.OwnedBy != upstreamName {
					t.Errorf("model %s: got object %q, owned_by %q; want model, %s", m.ID, m.Object, m.OwnedBy, upstreamName)
				}
			}
			if diff := cmp.Diff(tc.want, listed); diff != "" {
				t.Errorf("Models.List mismatch (-want +got):\n%s", diff)
			}
			next, err := page.GetNextPage()
			if err != nil || next != nil {
				t.Errorf("GetNextPage() = %v, %v; want nil, nil (one page)", next, err)
			}

			iter := client.Models.ListAutoPaging(t.Context())
			var paged []string
			for iter.Next() {
				paged = append(paged, iter.Current().ID)
			}
			if err := iter.Err(); err != nil {
				t.Fatalf("ListAutoPaging: %v", err)
			}
			if diff := cmp.Diff(tc.want, paged); diff != "" {
				t.Errorf("ListAutoPaging mismatch (-want +got):\n%s", diff)
			}

			for _, id := range tc.want {
				m, err := client.Models.Get(t.Context(), id)
				if err != nil {
					t.Fatalf("Models.Get(%s): %v", id, err)
				}
				if m.ID != id || m.OwnedBy != upstreamName {
					t.Errorf("Models.Get(%s) = id %q, owned_by %q; want %s, %s", id, m.ID, m.OwnedBy, id, upstreamName)
				}
			}

			_, err = client.Models.Get(t.Context(), tc.hidden)
			apiErr := apiError(t, err)
			if apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" {
				t.Errorf("Models.Get(%s): got %d %s/%s; want 404 invalid_request_error/model_not_found",
					tc.hidden, apiErr.StatusCode, apiErr.Type, apiErr.Code)
			}
		})
	}
}
