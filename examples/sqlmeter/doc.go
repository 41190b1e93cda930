// Package sqlmeter is an example metering backend for wicket, written on
// database/sql: a Recorder that stores one row per metering.Event, and a
// Ledger that keeps budgets in SQL tables. It shows how to write a backend
// of your own against package metering's interfaces and prove it with the
// conformance suites of package meteringtest; its tests run both suites
// against SQLite, through the pure-Go driver modernc.org/sqlite (no cgo).
// The package itself imports no driver: the application opens the
// *sql.DB.
//
// # Using it
//
// Open the database, create the tables once with Migrate, then put the
// Recorder behind a metering.Meter (which batches events off the request
// path, retries failures and calls RecordBatch) and use the Ledger where
// the gateway reserves and settles budgets:
//
//	db, err := sql.Open("sqlite", "file:/var/lib/app/wicket.db"+
//		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
//	if err != nil { ... }
//	db.SetMaxOpenConns(1) // see "SQLite" below
//	if err := sqlmeter.Migrate(ctx, db); err != nil { ... }
//
//	rec, err := sqlmeter.NewRecorder(db)
//	meter, err := metering.NewMeter(rec, nil)
//	defer meter.Close(context.Background()) // flushes queued events
//
//	ledger, err := sqlmeter.NewLedger(db, nil)
//	id, err := ledger.Reserve(ctx, accounts, worstCase)
//	// ... forward the request ...
//	err = ledger.Settle(context.WithoutCancel(ctx), id, cost)
//	err = meter.Record(context.WithoutCancel(ctx), event)
//
// # Tables
//
// Migrate creates, if missing:
//
//   - wicket_events: one row per Event, keyed by request_id. The Meter
//     delivers at least once, so a repeated request ID is ignored (INSERT
//     … ON CONFLICT DO NOTHING): the first delivery wins. Event has no
//     content field, so neither has the table. Start is stored as Unix
//     microseconds (NULL for the zero time), durations as nanoseconds.
//   - wicket_spend: what each account spent in each period, one row per
//     (kind, account_id, period, period_start). Rows of ended periods are
//     kept as a spending history; delete them when you no longer need them
//     (DELETE FROM wicket_spend WHERE period_end <> 0 AND period_end < ?).
//   - wicket_reservations: one row per reservation, with its state (held,
//     settled, released) and cost, kept for twice the TTL so that a
//     repeated Settle or Release is recognized; the Ledger deletes older
//     rows as it goes.
//   - wicket_holds: the accounts and periods each unsettled reservation
//     holds money against.
//
// Money is BIGINT micro-dollars throughout; no float is involved. An
// account's reserved amount is not stored but summed from the holds that
// have not expired, so expiry needs no background job: a hold stops
// counting the moment its expires_ns passes.
//
// # SQLite
//
// SQLite runs one write transaction at a time, and its transactions are
// serializable, so the ledger cannot overspend whatever the settings; the
// settings decide whether concurrent callers wait their turn or fail with
// "database is locked". The recommended setup, used by the tests:
//
//   - db.SetMaxOpenConns(1): within one process, callers queue in
//     database/sql for the one connection and are handed it in turn,
//     instead of contending inside SQLite, whose busy handler polls with
//     sleeps of up to 100ms. Since SQLite admits one writer anyway, a pool
//     of one loses little for a ledger, whose calls all write; a pool of a
//     few connections works too and lets reads run beside a write, but an
//     unbounded pool opens a connection per waiting caller, all polling
//     (ten times slower with 1000 callers here). With one connection,
//     never call the Ledger or Recorder while holding a transaction or
//     open rows of your own on the same *sql.DB: the call would wait
//     forever for the connection.
//   - _txlock=immediate: every transaction takes the write lock at BEGIN.
//     With the default deferred BEGIN, a transaction that reads and then
//     writes must upgrade its lock, and in WAL mode fails at once with
//     SQLITE_BUSY, busy_timeout notwithstanding, if another connection
//     wrote in between. This matters when other processes, or another
//     *sql.DB or connection, share the file.
//   - busy_timeout: a writer from another connection waits that many
//     milliseconds for the lock before failing.
//   - journal_mode(WAL): readers never block the writer nor the writer
//     the readers, and a commit writes less.
//
// # Porting to another database
//
// The SQL sticks to what SQLite and PostgreSQL share (BIGINT, TEXT,
// BOOLEAN, INSERT … ON CONFLICT), so a PostgreSQL port changes little:
//
//   - Placeholders: $1, $2, … instead of ?.
//   - Reserve: PostgreSQL runs transactions concurrently, so Reserve must
//     lock what it checks. Create each account's wicket_spend row first
//     (INSERT … ON CONFLICT DO NOTHING), then lock it with SELECT … FOR
//     UPDATE before summing its holds, taking the rows in a fixed order
//     (sorted by kind, account_id, period) so that two reservations never
//     deadlock; or run Reserve at SERIALIZABLE and retry on serialization
//     failures (SQLSTATE 40001).
//   - Settle and Release need no change: they end a reservation with a
//     conditional UPDATE (… WHERE state = 'held'), a compare-and-set that
//     only one caller wins, also under READ COMMITTED.
//   - Balance reads an account in one statement, so it sees one snapshot.
//   - start_us may become a TIMESTAMPTZ, which keeps microseconds too.
//
// MySQL has no ON CONFLICT: a port there writes INSERT … ON DUPLICATE KEY
// UPDATE instead, and VARCHAR columns for the keys.
package sqlmeter
