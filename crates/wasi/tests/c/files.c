// Files and directories in the preopened directory /sandbox: create, write, read back, seek,
// pread/pwrite, truncate, append, stat, rename, links, listing, unlink, rmdir.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            printf("FAIL line %d: %s (errno %d: %s)\n", __LINE__, #cond, errno, strerror(errno)); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    // A file the host put there.
    FILE *in = fopen("/sandbox/input.txt", "r");
    CHECK(in != NULL);
    char buf[256] = {0};
    CHECK(fgets(buf, sizeof buf, in) != NULL);
    fclose(in);
    printf("input: %s", buf);

    CHECK(mkdir("/sandbox/dir", 0755) == 0);
    CHECK(mkdir("/sandbox/dir", 0755) == -1 && errno == EEXIST);

    // Create, write, read back, seek.
    FILE *f = fopen("/sandbox/dir/data.txt", "w+");
    CHECK(f != NULL);
    CHECK(fputs("hello world\n", f) >= 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(fgets(buf, sizeof buf, f) != NULL);
    CHECK(strcmp(buf, "hello world\n") == 0);
    CHECK(fseek(f, 6, SEEK_SET) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(fread(buf, 1, 5, f) == 5);
    CHECK(strcmp(buf, "world") == 0);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    CHECK(ftell(f) == 12);
    fclose(f);

    // Low-level: pread/pwrite, lseek, ftruncate, fstat.
    int fd = open("/sandbox/dir/data.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "WORLD", 5, 6) == 5);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 11, 0) == 11);
    CHECK(strcmp(buf, "hello WORLD") == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(lseek(fd, -3, SEEK_END) == 9);
    CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "LD\n", 3) == 0);
    CHECK(lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 12 && S_ISREG(st.st_mode));
    CHECK(ftruncate(fd, 5) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK(fsync(fd) == 0);
    CHECK(close(fd) == 0);
    CHECK(close(fd) == -1 && errno == EBADF);

    // Append mode.
    f = fopen("/sandbox/dir/data.txt", "a");
    CHECK(f != NULL);
    CHECK(fputs(" appended", f) >= 0);
    fclose(f);
    f = fopen("/sandbox/dir/data.txt", "r");
    memset(buf, 0, sizeof buf);
    CHECK(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    printf("content: %s\n", buf);

    // Exclusive create, missing files, directories as files.
    CHECK(open("/sandbox/dir/data.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST);
    CHECK(open("/sandbox/missing.txt", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(open("/sandbox/dir", O_WRONLY) == -1 && errno == EISDIR);
    CHECK(open("/sandbox/dir/data.txt/x", O_RDONLY) == -1 && errno == ENOTDIR);

    // stat, rename, times.
    CHECK(stat("/sandbox/dir", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(rename("/sandbox/dir/data.txt", "/sandbox/dir/renamed.txt") == 0);
    CHECK(stat("/sandbox/dir/data.txt", &st) == -1 && errno == ENOENT);
    struct timeval tv[2] = {{1000000000, 0}, {1234567890, 0}};
    CHECK(utimes("/sandbox/dir/renamed.txt", tv) == 0);
    CHECK(stat("/sandbox/dir/renamed.txt", &st) == 0 && st.st_mtime == 1234567890);

    // Links inside the sandbox.
    CHECK(symlink("renamed.txt", "/sandbox/dir/link.txt") == 0);
    char target[64] = {0};
    CHECK(readlink("/sandbox/dir/link.txt", target, sizeof target - 1) == 11);
    CHECK(strcmp(target, "renamed.txt") == 0);
    CHECK(lstat("/sandbox/dir/link.txt", &st) == 0 && S_ISLNK(st.st_mode));
    f = fopen("/sandbox/dir/link.txt", "r");
    CHECK(f != NULL);
    memset(buf, 0, sizeof buf);
    CHECK(fgets(buf, sizeof buf, f) != NULL && strcmp(buf, "hello appended") == 0);
    fclose(f);
    CHECK(link("/sandbox/dir/renamed.txt", "/sandbox/dir/hard.txt") == 0);
    CHECK(stat("/sandbox/dir/hard.txt", &st) == 0 && st.st_nlink == 2);
    CHECK(mkdir("/sandbox/dir/sub", 0755) == 0);
    CHECK(stat("/sandbox/dir/sub/../renamed.txt", &st) == 0);

    // Listing.
    DIR *d = opendir("/sandbox/dir");
    CHECK(d != NULL);
    char *names[32];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 32) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        names[n] = strdup(e->d_name);
        if (e->d_type == DT_DIR) strcat(names[n] = realloc(names[n], strlen(names[n]) + 2), "/");
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("listing:");
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");

    // Clean up part of it.
    CHECK(unlink("/sandbox/dir/link.txt") == 0);
    CHECK(unlink("/sandbox/dir/hard.txt") == 0);
    CHECK(rmdir("/sandbox/dir") == -1 && errno == ENOTEMPTY);
    CHECK(rmdir("/sandbox/dir/sub") == 0);
    CHECK(unlink("/sandbox/dir/sub") == -1 && errno == ENOENT);

    // A large file written in chunks and read back.
    fd = open("/sandbox/big.bin", O_CREAT | O_TRUNC | O_RDWR, 0644);
    CHECK(fd >= 0);
    static unsigned char block[65536];
    for (int i = 0; i < 16; i++) {
        memset(block, i, sizeof block);
        CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
    }
    CHECK(lseek(fd, 5 * 65536 + 7, SEEK_SET) == 5 * 65536 + 7);
    CHECK(read(fd, block, 1) == 1 && block[0] == 5);
    CHECK(close(fd) == 0);

    printf("all ok\n");
    return 0;
}
