package sqlmeter_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/wicket-gw/wicket/examples/sqlmeter"
	_ "modernc.org/sqlite"
)

// openDB opens a fresh SQLite database in a temporary directory, with the
// tables created.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	return openFile(t, filepath.Join(t.TempDir(), "wicket.db"))
}

// openFile opens the SQLite database at path as the package documentation
// recommends, creates the tables, and closes it when the test ends.
func openFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatalf("sql.Open: got error %v; want nil", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing the database: got error %v; want nil", err)
		}
	})
	if err := sqlmeter.Migrate(context.Background(), db); err != nil {
		t.Fatalf("Migrate: got error %v; want nil", err)
	}
	return db
}

// count returns the number of rows of table.
func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("counting %s: got error %v; want nil", table, err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	db := openDB(t) // migrated once
	if err := sqlmeter.Migrate(context.Background(), db); err != nil {
		t.Fatalf("second Migrate: got error %v; want nil", err)
	}
}

func TestNilDB(t *testing.T) {
	if err := sqlmeter.Migrate(context.Background(), nil); err == nil {
		t.Error("Migrate(nil): got nil error; want an error")
	}
	if _, err := sqlmeter.NewRecorder(nil); err == nil {
		t.Error("NewRecorder(nil): got nil error; want an error")
	}
	if _, err := sqlmeter.NewLedger(nil, nil); err == nil {
		t.Error("NewLedger(nil, nil): got nil error; want an error")
	}
}
