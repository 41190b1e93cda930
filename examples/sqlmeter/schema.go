package sqlmeter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// schema creates the tables and indexes, one statement each: not every
// driver runs several statements in one Exec. Integers are BIGINT, 64 bits
// in every SQL database (INTEGER is 32 bits in PostgreSQL).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS wicket_events (
	request_id            TEXT    NOT NULL PRIMARY KEY,
	key_id                TEXT    NOT NULL,
	owner                 TEXT    NOT NULL,
	model                 TEXT    NOT NULL,
	served_model          TEXT    NOT NULL,
	provider              TEXT    NOT NULL,
	endpoint              TEXT    NOT NULL,
	stream                BOOLEAN NOT NULL,
	input_tokens          BIGINT  NOT NULL,
	output_tokens         BIGINT  NOT NULL,
	cached_input_tokens   BIGINT  NOT NULL,
	cache_creation_tokens BIGINT  NOT NULL,
	reasoning_tokens      BIGINT  NOT NULL,
	cost_micros           BIGINT  NOT NULL,
	status                INTEGER NOT NULL,
	error_class           TEXT    NOT NULL,
	start_us              BIGINT,
	latency_ns            BIGINT  NOT NULL,
	ttft_ns               BIGINT  NOT NULL,
	usage_estimated       BOOLEAN NOT NULL,
	price_unknown         BOOLEAN NOT NULL
)`,
	`CREATE INDEX IF NOT EXISTS wicket_events_start ON wicket_events (start_us)`,

	// period is Period.String(); period_start and period_end are Unix
	// seconds, both 0 for the total period.
	`CREATE TABLE IF NOT EXISTS wicket_spend (
	kind         TEXT   NOT NULL,
	account_id   TEXT   NOT NULL,
	period       TEXT   NOT NULL,
	period_start BIGINT NOT NULL,
	period_end   BIGINT NOT NULL,
	spent        BIGINT NOT NULL,
	PRIMARY KEY (kind, account_id, period, period_start)
)`,

	// state is 'held', 'settled' or 'released'; cost is set by Settle.
	// expires_ns and forget_ns are Unix nanoseconds of the ledger's clock.
	`CREATE TABLE IF NOT EXISTS wicket_reservations (
	id         TEXT   NOT NULL PRIMARY KEY,
	amount     BIGINT NOT NULL,
	state      TEXT   NOT NULL,
	cost       BIGINT,
	expires_ns BIGINT NOT NULL,
	forget_ns  BIGINT NOT NULL
)`,
	`CREATE INDEX IF NOT EXISTS wicket_reservations_forget ON wicket_reservations (forget_ns)`,

	// One row per account of a reservation not yet settled or released.
	// amount and expires_ns repeat the reservation's, so that summing an
	// account's holds reads one index range of one table.
	`CREATE TABLE IF NOT EXISTS wicket_holds (
	kind           TEXT   NOT NULL,
	account_id     TEXT   NOT NULL,
	period         TEXT   NOT NULL,
	period_start   BIGINT NOT NULL,
	period_end     BIGINT NOT NULL,
	reservation_id TEXT   NOT NULL,
	amount         BIGINT NOT NULL,
	expires_ns     BIGINT NOT NULL,
	PRIMARY KEY (kind, account_id, period, period_start, reservation_id)
)`,
	`CREATE INDEX IF NOT EXISTS wicket_holds_reservation ON wicket_holds (reservation_id)`,
}

// Migrate creates the tables and indexes that Recorder and Ledger use, in
// one transaction, skipping those that exist; calling it again is
// harmless. It does not alter tables that exist. See the package
// documentation for what each table holds.
func Migrate(ctx context.Context, db *sql.DB) error {
	if db == nil {
		return errors.New("sqlmeter: migrate: nil *sql.DB")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlmeter: migrate: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlmeter: migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlmeter: migrate: %w", err)
	}
	return nil
}
