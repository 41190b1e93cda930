package keys

import "context"

// Store keeps key records, indexed by ID and by digest. Implementations
// must be safe for concurrent use, must return records the caller may
// modify (copies), and must pass keystest.RunStoreTests. Errors other than the
// sentinels below are treated as a store failure (503) by the middleware.
type Store interface {
	// Create adds a record. It returns ErrExists if a record with the same
	// ID or digest exists.
	Create(ctx context.Context, r *Record) error
	// Lookup returns the record with digest d, or ErrNotFound.
	Lookup(ctx context.Context, d Digest) (*Record, error)
	// Get returns the record with the ID, or ErrNotFound.
	Get(ctx context.Context, id string) (*Record, error)
	// Update applies fn to the record with the ID atomically, stores the
	// result and returns it, or returns ErrNotFound. fn may change any field
	// but ID and Owner, Digest included (the digest index must follow). If
	// fn returns an error, nothing is stored and Update returns that error.
	Update(ctx context.Context, id string, fn func(*Record) error) (*Record, error)
	// Delete removes the record with the ID, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// List returns records in ascending ID order, filtered and paged by q.
	List(ctx context.Context, q ListQuery) ([]*Record, error)
	// DeleteOwner removes every record of an owner and returns how many it
	// removed. It is how an application erases a user.
	DeleteOwner(ctx context.Context, owner string) (int, error)
}

// ListQuery selects and pages records for Store.List.
type ListQuery struct {
	// Owner, if set, keeps only that owner's records.
	Owner string
	// After, if set, keeps only records whose ID sorts after it (a cursor:
	// the last ID of the previous page).
	After string
	// Limit is the page size; zero or more than MaxListLimit means
	// MaxListLimit.
	Limit int
}

// MaxListLimit is the largest page Store.List returns.
const MaxListLimit = 1000

// PageSize returns q.Limit clamped to (0, MaxListLimit].
func (q ListQuery) PageSize() int {
	if q.Limit <= 0 || q.Limit > MaxListLimit {
		return MaxListLimit
	}
	return q.Limit
}
