// SQLite on WASI: creates a database file in the preopened directory /data, inserts 100k rows,
// queries them, closes, reopens and checks the data persisted. Prints the answers.
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

// The directory of the data files (the preopened /data under WASI; any directory natively).
#ifndef DATA_DIR
#define DATA_DIR "/data"
#endif

static sqlite3 *db;

static void fail(const char *what) {
    printf("FAIL %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        printf("FAIL %s: %s\n", sql, err);
        exit(1);
    }
}

static long long query_int(const char *sql) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail(sql);
    if (sqlite3_step(st) != SQLITE_ROW) fail(sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 100000;
    if (sqlite3_open(DATA_DIR "/test.db", &db) != SQLITE_OK) fail("open");
    exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL)");
    exec("BEGIN");
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO t (id, name, value) VALUES (?, ?, ?)", -1, &ins, NULL) != SQLITE_OK)
        fail("prepare insert");
    char name[32];
    for (int i = 1; i <= rows; i++) {
        snprintf(name, sizeof name, "row-%d", i);
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, (i * 7) % 1000);
        if (sqlite3_step(ins) != SQLITE_DONE) fail("insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT");
    exec("CREATE INDEX t_value ON t (value)");
    printf("count=%lld\n", query_int("SELECT count(*) FROM t"));
    printf("sum=%lld\n", query_int("SELECT sum(value) FROM t"));
    printf("value_42=%lld\n", query_int("SELECT count(*) FROM t WHERE value = 42"));
    printf("max_id_999=%lld\n", query_int("SELECT max(id) FROM t WHERE value = 999"));
    printf("name_len=%lld\n", query_int("SELECT sum(length(name)) FROM t"));
    printf("row_77777=%lld\n", query_int("SELECT value FROM t WHERE name = 'row-77777'"));
    exec("DELETE FROM t WHERE id % 2 = 0");
    sqlite3_close(db);
    db = NULL;
    if (sqlite3_open(DATA_DIR "/test.db", &db) != SQLITE_OK) fail("reopen");
    printf("after_reopen=%lld\n", query_int("SELECT count(*) FROM t"));
    printf("integrity=%s\n", query_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1 ? "ok" : "bad");
    sqlite3_close(db);
    return 0;
}
