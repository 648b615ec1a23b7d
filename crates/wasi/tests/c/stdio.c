// Standard streams: writes to stdout and stderr, echoes stdin upper-cased.
#include <ctype.h>
#include <stdio.h>

int main(void) {
    printf("hello from wasi\n");
    fprintf(stderr, "to stderr\n");
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        for (char *p = line; *p; p++) *p = (char)toupper((unsigned char)*p);
        fputs(line, stdout);
    }
    printf("done\n");
    return 0;
}
