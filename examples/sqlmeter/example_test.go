package sqlmeter_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/wicket-gw/wicket/examples/sqlmeter"
	"github.com/wicket-gw/wicket/metering"
	_ "modernc.org/sqlite"
)

func ExampleNewRecorder() {
	dir, err := os.MkdirTemp("", "sqlmeter")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "wicket.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if err := sqlmeter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}

	rec, err := sqlmeter.NewRecorder(db)
	if err != nil {
		log.Fatal(err)
	}
	meter, err := metering.NewMeter(rec, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range []metering.Event{
		{RequestID: "req-1", KeyID: "key_1", Model: "gpt-4o", CostMicros: 1200, Status: 200, Start: time.Now()},
		{RequestID: "req-2", KeyID: "key_1", Model: "gpt-4o", CostMicros: 800, Status: 200, Start: time.Now()},
		{RequestID: "req-3", KeyID: "key_2", Model: "claude-sonnet-4-5", CostMicros: 3000, Status: 200, Start: time.Now()},
		// Delivered again: stored once.
		{RequestID: "req-3", KeyID: "key_2", Model: "claude-sonnet-4-5", CostMicros: 3000, Status: 200, Start: time.Now()},
	} {
		if err := meter.Record(ctx, e); err != nil {
			log.Fatal(err)
		}
	}
	if err := meter.Close(ctx); err != nil { // delivers what is queued
		log.Fatal(err)
	}

	rows, err := db.QueryContext(ctx, `SELECT model, COUNT(*), SUM(cost_micros)
		FROM wicket_events GROUP BY model ORDER BY model`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			model      string
			n          int
			costMicros int64
		)
		if err := rows.Scan(&model, &n, &costMicros); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d requests, %d micro-dollars\n", model, n, costMicros)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// claude-sonnet-4-5: 1 requests, 3000 micro-dollars
	// gpt-4o: 2 requests, 2000 micro-dollars
}

func ExampleNewLedger() {
	dir, err := os.MkdirTemp("", "sqlmeter")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "wicket.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if err := sqlmeter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}

	ledger, err := sqlmeter.NewLedger(db, &sqlmeter.LedgerOptions{TTL: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	// $5 a month for the key, $100 a month for its owner.
	accounts := []metering.Account{
		{Kind: metering.AccountKey, ID: "key_1", Limit: 5_000_000, Period: metering.PeriodMonthly},
		{Kind: metering.AccountOwner, ID: "team-a", Limit: 100_000_000, Period: metering.PeriodMonthly},
	}

	id, err := ledger.Reserve(ctx, accounts, 4_000_000) // the worst case of a request
	if err != nil {
		log.Fatal(err)
	}
	_, err = ledger.Reserve(ctx, accounts, 2_000_000)
	if be, ok := errors.AsType[*metering.BudgetError](err); ok {
		fmt.Printf("refused: %s account has %d micro-dollars left\n", be.Account.Kind, be.Remaining)
	}
	if err := ledger.Settle(ctx, id, 1_250_000); err != nil { // the exact cost
		log.Fatal(err)
	}
	for _, a := range accounts {
		b, err := ledger.Balance(ctx, a)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: spent %d, reserved %d, remaining %d\n", a.Kind, b.Spent, b.Reserved, b.Remaining())
	}
	// Output:
	// refused: key account has 1000000 micro-dollars left
	// key: spent 1250000, reserved 0, remaining 3750000
	// owner: spent 1250000, reserved 0, remaining 98750000
}
