package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

// idExpr is the exact expression FerretDB 1.24's SQLite backend compares when it looks a document up,
// updates or deletes it by _id (internal/backends/sqlite/metadata.IDColumn). FerretDB's own unique
// _id index is on `_ferretdb_sjson->"_id"`, which SQLite does not consider the same expression, so
// without an index on this one every lookup by _id scans the whole table.
const idExpr = `_ferretdb_sjson->'$._id'`

// idIndexer opens its own connections to FerretDB's SQLite files and keeps an index on idExpr for
// every collection table FerretDB lists in _ferretdb_collections. It never writes anything else.
type idIndexer struct {
	dir string
	mu  sync.Mutex
	dbs map[string]*openDB
}

type openDB struct {
	db   *sql.DB
	file os.FileInfo
}

// open returns a connection to the database's file, opening it again when the file was replaced
// (a database dropped and made anew under the same name is a new file).
func (x *idIndexer) open(name string) (*sql.DB, error) {
	path := filepath.Join(x.dir, name+".sqlite")
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if o := x.dbs[name]; o != nil {
		if os.SameFile(o.file, fi) {
			return o.db, nil
		}
		_ = o.db.Close()
		delete(x.dbs, name)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if x.dbs == nil {
		x.dbs = map[string]*openDB{}
	}
	x.dbs[name] = &openDB{db: db, file: fi}
	return db, nil
}

// databases lists the SQLite files FerretDB made (one per MongoDB database).
func (x *idIndexer) databases() []string {
	files, _ := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".sqlite"))
	}
	return names
}

func tables(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, table_name FROM _ferretdb_collections`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()
	res := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			return nil, err
		}
		res[name] = table
	}
	return res, rows.Err()
}

// ensure creates the missing indexes and returns how many it created.
func (x *idIndexer) ensure(ctx context.Context) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	created := 0
	for _, name := range x.databases() {
		db, err := x.open(name)
		if os.IsNotExist(err) {
			continue // dropped in between
		}
		if err != nil {
			return created, err
		}
		ts, err := tables(ctx, db)
		if err != nil {
			return created, fmt.Errorf("%s: %w", name, err)
		}
		for _, table := range ts {
			index := table + "_fpc_id"
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, index).Scan(&n); err != nil {
				return created, err
			}
			if n > 0 {
				continue
			}
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, index, table, idExpr)
			if _, err := db.ExecContext(ctx, q); err != nil {
				// The collection may have been dropped in between; the next round sees the new list.
				if strings.Contains(err.Error(), "no such table") {
					continue
				}
				return created, fmt.Errorf("%s.%s: %w", name, table, err)
			}
			created++
		}
	}
	return created, nil
}

// plan answers SQLite's query plan for the statement FerretDB runs to find one document by _id.
func (x *idIndexer) plan(ctx context.Context, dbName, collection string) (string, error) {
	// A connection of its own, so the answer is about the file as it is now, whatever ensure holds.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(x.dir, dbName+".sqlite")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	ts, err := tables(ctx, db)
	if err != nil {
		return "", err
	}
	table, ok := ts[collection]
	if !ok {
		return "", fmt.Errorf("no collection %s.%s", dbName, collection)
	}
	q := fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, table, idExpr)
	rows, err := db.QueryContext(ctx, q, `"x"`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var details []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		details = append(details, detail)
	}
	return strings.Join(details, "; "), rows.Err()
}

func (x *idIndexer) close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, o := range x.dbs {
		_ = o.db.Close()
	}
}
