// Time to first result: prints SQLite's version at once (little of the library has run), then
// inserts and queries ROWS rows in the database DATA_DIR/startup.db (most of the library runs), which
// must not exist yet. Usage: sqlite_first [rows] (default 50000).
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

#ifndef DATA_DIR
#define DATA_DIR "/data"
#endif

static sqlite3 *db;

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        printf("FAIL %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
        exit(1);
    }
}

int main(int argc, char **argv) {
    printf("sqlite %s\n", sqlite3_libversion());
    fflush(stdout);
    int rows = argc > 1 ? atoi(argv[1]) : 50000;
    check(sqlite3_open(DATA_DIR "/startup.db", &db), "open");
    check(sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value INTEGER);"
                           "BEGIN", NULL, NULL, NULL), "create");
    sqlite3_stmt *ins;
    check(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?)", -1, &ins, NULL), "prepare");
    char name[32];
    for (int i = 1; i <= rows; i++) {
        snprintf(name, sizeof name, "row-%d", i);
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, (i * 7) % 1000);
        check(sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    check(sqlite3_exec(db, "COMMIT; CREATE INDEX t_value ON t (value)", NULL, NULL, NULL), "index");
    sqlite3_stmt *q;
    check(sqlite3_prepare_v2(db, "SELECT count(*), sum(value) FROM t WHERE value > 500", -1, &q, NULL),
          "query");
    check(sqlite3_step(q), "step");
    printf("count=%lld sum=%lld\n", sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return 0;
}
