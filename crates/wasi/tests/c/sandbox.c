// Tries to leave the preopened directory /sandbox in every way; prints the errno of each attempt
// ("name=0" means it succeeded).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *name, int ok) { printf("%s=%d\n", name, ok ? 0 : errno); }

int main(void) {
    struct stat st;
    int fd;
    char buf[64];
    errno = 0;
    report("dotdot_open", (fd = open("/sandbox/../secret.txt", O_RDONLY)) >= 0);
    report("deep_dotdot_open", open("/sandbox/sub/../../secret.txt", O_RDONLY) >= 0);
    report("dotdot_create", open("/sandbox/../created.txt", O_CREAT | O_WRONLY, 0644) >= 0);
    report("dotdot_stat", stat("/sandbox/../secret.txt", &st) == 0);
    report("dotdot_mkdir", mkdir("/sandbox/../newdir", 0755) == 0);
    report("dotdot_unlink", unlink("/sandbox/../secret.txt") == 0);
    report("dotdot_rename", rename("/sandbox/sub/inside.txt", "/sandbox/../moved.txt") == 0);
    report("dotdot_opendir", opendir("/sandbox/..") != NULL);
    report("symlink_abs_open", open("/sandbox/abs_link", O_RDONLY) >= 0);
    report("symlink_rel_open", open("/sandbox/rel_link", O_RDONLY) >= 0);
    report("symlink_dir_open", open("/sandbox/dir_link/secret.txt", O_RDONLY) >= 0);
    report("symlink_stat", stat("/sandbox/rel_link", &st) == 0);
    report("symlink_create_through", open("/sandbox/dir_link/created.txt", O_CREAT | O_WRONLY, 0644) >= 0);
    report("symlink_chain_open", open("/sandbox/chain_link", O_RDONLY) >= 0);
    report("make_abs_symlink", symlink("/etc/passwd", "/sandbox/new_abs_link") == 0);
    report("absolute_outside", open("/etc/passwd", O_RDONLY) >= 0);
    // The links themselves stay visible and removable.
    report("lstat_link", lstat("/sandbox/rel_link", &st) == 0 && S_ISLNK(st.st_mode));
    report("readlink_link", readlink("/sandbox/rel_link", buf, sizeof buf) > 0);
    // Allowed: `..` that stays inside, and a link pointing inside.
    report("inside_dotdot", open("/sandbox/sub/../sub/inside.txt", O_RDONLY) >= 0);
    report("inside_link", open("/sandbox/inside_link", O_RDONLY) >= 0);
    return 0;
}
